#include "actors/orders/pricing.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace billow::orders {

namespace json = boost::json;

namespace {

/// The distinct values of `key` in `prices`, in their order, of the prices
/// whose currency is `currency` (any currency when empty).
std::vector<std::string> distinct(const json::array& prices,
                                  std::string_view key,
                                  std::string_view currency = {}) {
  std::vector<std::string> out;
  for (const auto& price : prices) {
    const auto* po = price.if_object();
    if (po == nullptr)
      continue;
    const auto* cur = po->if_contains("currency");
    const auto* value = po->if_contains(key);
    if (cur == nullptr || !cur->is_string() || value == nullptr
        || !value->is_string())
      continue;
    if (!currency.empty() && cur->get_string() != currency)
      continue;
    std::string text{value->get_string()};
    if (std::find(out.begin(), out.end(), text) == out.end())
      out.push_back(std::move(text));
  }
  return out;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

} // namespace

std::optional<std::string>
order_period(const json::array& prices, std::string_view currency,
             std::string_view period, std::vector<order_problem>& problems) {
  // A product without prices keeps the order as it comes, as before orders
  // were priced: any period (or none), nothing to match it against.
  if (prices.empty())
    return std::string{period};
  auto theirs = distinct(prices, "period", currency);
  if (theirs.empty()) {
    problems.push_back(
      {"client_id",
       fmt::format("the client pays in {}, and the product has no "
                   "price in {} (its prices are in {})",
                   currency, currency, joined(distinct(prices, "currency")))});
    return std::nullopt;
  }
  if (!period.empty()) {
    if (std::find(theirs.begin(), theirs.end(), period) != theirs.end())
      return std::string{period};
    problems.push_back(
      {"period",
       fmt::format("the product has no {} price in {} (the "
                   "client's currency); its {} periods: {}",
                   period, currency, currency, joined(theirs))});
    return std::nullopt;
  }
  if (theirs.size() == 1)
    return theirs.front();
  problems.push_back(
    {"period",
     fmt::format("is required: the product has several periods in "
                 "{} (the client's currency): {}",
                 currency, joined(theirs))});
  return std::nullopt;
}

const json::object* price_of(const json::array& prices,
                             std::string_view currency,
                             std::string_view period) {
  for (const auto& p : prices) {
    if (!p.is_object())
      continue;
    const auto& o = p.as_object();
    auto* c = o.if_contains("currency");
    auto* q = o.if_contains("period");
    if (c && c->is_string() && c->as_string() == currency && q && q->is_string()
        && q->as_string() == period)
      return &o;
  }
  return nullptr;
}

} // namespace billow::orders
