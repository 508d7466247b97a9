#include "api/prices.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "actors/billing/money.hpp"
#include "events/errc.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

constexpr std::string_view periods[]
  = {"one_time", "hourly",     "daily",      "weekly",
     "biweekly", "monthly",    "quarterly",  "semiannually",
     "annually", "biennially", "triennially"};

constexpr std::string_view fee_fields[] = {"setup_fee", "idle_amount",
                                           "switch_up_fee", "switch_down_fee"};

std::string period_list() {
  std::string out;
  for (auto p : periods)
    out += (out.empty() ? "" : ", ") + std::string{p};
  return out;
}

} // namespace

std::span<const std::string_view> price_periods() {
  return periods;
}

bool is_price_period(std::string_view period) {
  return std::find(std::begin(periods), std::end(periods), period)
    != std::end(periods);
}

std::string not_a_period_message() {
  return "must be one of " + period_list();
}

std::optional<json::object> parse_price(const json::value& price,
                                        const std::string& field,
                                        field_checker& check) {
  if (!price.is_object()) {
    check.fail(field, "must be an object");
    return std::nullopt;
  }
  const auto& po = price.as_object();
  bool good = true;
  auto fail = [&](const std::string& name, std::string message) {
    check.fail(field + "." + name, std::move(message));
    good = false;
  };
  for (const auto& [key, value] : po)
    if (key != "currency" && key != "period" && key != "amount"
        && std::find(std::begin(fee_fields), std::end(fee_fields), key)
          == std::end(fee_fields))
      fail(std::string{key}, "is not a field of a price");
  json::object out;
  const auto* period = po.if_contains("period");
  if (period == nullptr || !period->is_string()
      || !is_price_period(period->as_string()))
    fail("period", not_a_period_message());
  else
    out["period"] = *period;
  const billing::currency* cur = nullptr;
  const auto* code = po.if_contains("currency");
  if (code == nullptr || !code->is_string()) {
    fail("currency", "must be an ISO 4217 code such as \"EUR\"");
  } else if (auto found = billing::require_currency(code->as_string())) {
    cur = *found;
    out["currency"] = *code;
  } else {
    fail("currency", detail_of(found.error()));
  }
  auto money = [&](std::string_view name, bool required) {
    const auto* v = po.if_contains(name);
    if (v == nullptr) {
      if (required)
        fail(std::string{name}, "is required");
      return;
    }
    if (cur == nullptr)
      return; // its decimals depend on the currency, refused above
    auto minor = billing::parse_money_field(*v, *cur);
    if (!minor)
      return fail(std::string{name}, detail_of(minor.error()));
    if (*minor < 0)
      return fail(std::string{name}, "must not be negative");
    out[name] = billing::format_amount(*minor, *cur);
  };
  money("amount", true);
  for (auto fee : fee_fields)
    money(fee, false);
  if (!good)
    return std::nullopt;
  return out;
}

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
             std::string_view period, field_checker& check) {
  // A product without prices keeps the order as it comes, as before orders
  // were priced: any period (or none), nothing to match it against.
  if (prices.empty())
    return std::string{period};
  auto theirs = distinct(prices, "period", currency);
  if (theirs.empty()) {
    check.fail("client_id",
               fmt::format("the client pays in {}, and the product has no "
                           "price in {} (its prices are in {})",
                           currency, currency,
                           joined(distinct(prices, "currency"))));
    return std::nullopt;
  }
  if (!period.empty()) {
    if (std::find(theirs.begin(), theirs.end(), period) != theirs.end())
      return std::string{period};
    check.fail("period",
               fmt::format("the product has no {} price in {} (the "
                           "client's currency); its {} periods: {}",
                           period, currency, currency, joined(theirs)));
    return std::nullopt;
  }
  if (theirs.size() == 1)
    return theirs.front();
  check.fail("period",
             fmt::format("is required: the product has several periods in {} "
                         "(the client's currency): {}",
                         currency, joined(theirs)));
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

} // namespace billow::api
