#include "api/prices.hpp"

#include <algorithm>
#include <string>

#include <boost/json.hpp>

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

} // namespace billow::api
