#pragma once

// What an order of a product costs the client: the period it stands for and
// its price, against the product's prices as `api/prices.hpp` checked and
// kept them ({currency, period, amount, setup_fee?, ...}, amounts as strings
// in the currency's decimals).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace billow::orders {

/// A field of an order that cannot be accepted, and why: one entry of the
/// HTTP answer's `errors` (422).
struct order_problem {
  /// `client_id`, `product_id` or `period`.
  std::string field;
  /// Phrased to follow the field's name ("is required: ...").
  std::string message;

  friend bool operator==(const order_problem&, const order_problem&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_problem& x) {
  return f(x.field, x.message);
}

/// The period an order of a product stands for, against the product's
/// `prices` in the client's `currency`:
///
///   - a product without prices (provisioned by hand, or free) takes the
///     order as it comes: `period` (empty when none was given);
///   - no price in `currency`: a problem of `client_id` naming the currency;
///   - `period` given: it, when the product has a price of that period in
///     `currency`, else a problem of `period` naming the currency;
///   - none given: the period of the product's price in `currency` when it
///     has one period there, else `period` "is required".
///
/// Problems are added to `problems`; none is answered then.
std::optional<std::string>
order_period(const boost::json::array& prices, std::string_view currency,
             std::string_view period, std::vector<order_problem>& problems);

/// The price of `period` in `currency` among `prices`, or null.
const boost::json::object* price_of(const boost::json::array& prices,
                                    std::string_view currency,
                                    std::string_view period);

} // namespace billow::orders
