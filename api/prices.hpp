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
// canonical form.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "api/json_body.hpp"

namespace billow::api {

/// The periods a price may have, shortest first.
std::span<const std::string_view> price_periods();

/// Checks `price` (the body's `field`, e.g. `prices[0]`), recording every
/// failure in `check` under `field.<name>`; answers the canonical price when
/// it is good.
std::optional<boost::json::object> parse_price(const boost::json::value& price,
                                               const std::string& field,
                                               field_checker& check);

} // namespace billow::api
