#pragma once

// A product's price as the API takes it:
//
//   {currency, period, amount, setup_fee?, idle_amount?, switch_up_fee?,
//    switch_down_fee?}
//
// period: one_time, hourly, daily, weekly, biweekly, monthly, quarterly,
// semiannually, annually, biennially, triennially. Every money field is a
// string with exactly the currency's decimals (money core: parse_amount),
// never negative; the price is kept with each amount written back in its
// canonical form. What an order of the product costs is the order desk's
// (actors/orders/pricing.hpp).

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "api/json_body.hpp"

namespace billow::api {

/// The periods a price may have, shortest first.
std::span<const std::string_view> price_periods();

/// Whether `period` is one of `price_periods()`.
bool is_price_period(std::string_view period);

/// "must be one of one_time, hourly, ...": the failure of a period that is
/// not one.
std::string not_a_period_message();

/// Checks `price` (the body's `field`, e.g. `prices[0]`), recording every
/// failure in `check` under `field.<name>`; answers the canonical price when
/// it is good.
std::optional<boost::json::object> parse_price(const boost::json::value& price,
                                               const std::string& field,
                                               field_checker& check);

} // namespace billow::api
