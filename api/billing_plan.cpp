#include "api/billing_plan.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "actors/billing/currency.hpp"
#include "actors/billing/money.hpp"
#include "actors/billing/periods.hpp"
#include "actors/orders/pricing.hpp"
#include "api/prices.hpp"
#include "api/route_helpers.hpp"

namespace billow::api {

namespace json = boost::json;

caf::expected<billing::run_plan> plan_billing(const billing_plan_sources& src,
                                              std::string_view date,
                                              std::string_view client_id) {
  auto terms = src.config->current();
  if (!terms)
    return terms.error();
  const auto& settings = (*terms)->settings;
  auto until = billing::add_days(date, settings.invoice_days_in_advance);
  if (!until)
    return until.error();
  auto exists = [&](const events::uuid& id) {
    return src.billing->invoice(events::to_string(id)).has_value();
  };
  billing::run_plan out;
  auto services = src.billing->services(client_id);
  // In a stable order (the service ids), so that a preview lists what a
  // run sends in the same order.
  std::sort(services.begin(), services.end(), [](const auto& a, const auto& b) {
    return a.service_id < b.service_id;
  });
  for (const auto& sb : services) {
    auto row = src.provisioning->service(sb.service_id);
    if (!row)
      continue;
    using actors::service_status;
    auto status = row->state.status;
    if (status != service_status::active && status != service_status::suspended)
      continue;
    // The client's mode and currency: its account's, else the defaults.
    std::string currency;
    bool prepaid = settings.default_mode == billing::billing_mode::prepaid;
    if (auto acc = src.billing->account(sb.client_id)) {
      currency = acc->currency;
      prepaid = acc->billing_mode == "prepaid";
    } else if (auto client = src.provisioning->client(sb.client_id)) {
      currency = string_field(client->fields, "currency");
    }
    if (prepaid)
      continue;
    auto product
      = src.provisioning->product(events::to_string(row->state.product_id));
    if (!product)
      continue;
    const auto* prices = product->fields.if_contains("prices");
    const auto* price = prices != nullptr && prices->is_array()
      ? orders::price_of(prices->get_array(), currency, row->state.period)
      : nullptr;
    const auto* cur = billing::find_currency(currency);
    if (price == nullptr || cur == nullptr) {
      spdlog::warn("billing: service {} has no {} price of {}: not renewed",
                   sb.service_id, currency, row->state.period);
      continue;
    }
    billing::renewal_input in;
    in.service_id = sb.service_id;
    in.client_id = sb.client_id;
    in.product_name = string_field(product->fields, "name");
    in.period = row->state.period;
    in.anchor = sb.anchor;
    in.billed_until = sb.billed_until;
    in.amount = string_field(*price, "amount");
    auto minor = billing::parse_amount(in.amount, *cur);
    if (!minor)
      return minor.error();
    in.amount_minor = *minor;
    in.currency = currency;
    auto due = billing::renewals_due(in, *until, exists);
    if (!due)
      return due.error();
    std::move(due->begin(), due->end(), std::back_inserter(out.renewals));
  }
  return out;
}

void add_service_billing(json::object& out,
                         const projections::billing_projection* billing,
                         std::string_view id) {
  auto sb = billing != nullptr ? billing->service(id) : std::nullopt;
  if (!sb) {
    out["billed_until"] = nullptr;
    return;
  }
  if (auto due = sb->next_due_date(); !due.empty())
    out["next_due_date"] = std::move(due);
  out["billed_until"] = or_null(sb->billed_until);
}

} // namespace billow::api
