#include "actors/billing/billing_config.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/aggregate.hpp"
#include "events/event_store.hpp"

namespace billow::billing {

namespace json = boost::json;

caf::expected<std::shared_ptr<const billing_config::snapshot>>
billing_config::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto settings = store_.read_stream(settings_stream,
                                     cached_->settings_version + 1,
                                     events::read_direction::forward, SIZE_MAX);
  if (!settings)
    return settings.error();
  auto rules = store_.read_stream(tax_rules_stream, cached_->rules_version + 1,
                                  events::read_direction::forward, SIZE_MAX);
  if (!rules)
    return rules.error();
  if (settings->empty() && rules->empty())
    return cached_;
  auto next = std::make_shared<snapshot>(*cached_);
  for (const auto& ev : *settings) {
    next->settings_version = ev.version;
    if (ev.type != "billing.settings_updated")
      continue;
    auto parsed = settings_from_json(actors::parse_object(ev.payload));
    if (parsed)
      next->settings = std::move(*parsed);
    else
      spdlog::error("billing settings at version {} do not parse: {}",
                    ev.version, to_string(parsed.problems()));
  }
  for (const auto& ev : *rules) {
    next->rules_version = ev.version;
    if (ev.type != "tax_rule.created")
      continue;
    auto parsed = tax_rule_from_json(actors::parse_object(ev.payload));
    if (parsed)
      next->rules.push_back(std::move(*parsed));
    else
      spdlog::error("tax rule at version {} does not parse: {}", ev.version,
                    to_string(parsed.problems()));
  }
  cached_ = std::move(next);
  return cached_;
}

json::object seller_of(const billing_settings& settings) {
  const auto& c = settings.company;
  json::array address;
  for (const auto& line : c.address)
    address.push_back(json::value(line));
  json::object out{{"name", c.name}, {"address", std::move(address)}};
  if (!c.tax_id.empty())
    out["tax_id"] = c.tax_id;
  if (!c.email.empty())
    out["email"] = c.email;
  return out;
}

billing_terms billing_config::terms() const {
  billing_terms t;
  auto snap = current();
  if (!snap) {
    spdlog::error("billing settings unreadable: {}", to_string(snap.error()));
    return t; // no tax engine: issuing fails with `internal`
  }
  auto config = *snap;
  const auto& s = config->settings;
  t.number_formats = {{"invoice", s.number_formats.invoice},
                      {"proforma", s.number_formats.proforma},
                      {"credit_note", s.number_formats.credit_note}};
  t.seller = seller_of(s);
  t.apply_credit = s.apply_credit;
  t.totals
    = [config](const std::vector<invoice_item>& items,
               const account_state& account) -> caf::expected<computed_totals> {
    const auto* cur = find_currency(account.currency);
    if (cur == nullptr)
      return make_error(billow_errc::invalid_argument,
                        "the client has no currency");
    std::vector<invoice_item_input> inputs;
    inputs.reserve(items.size());
    for (const auto& i : items)
      inputs.push_back(invoice_item_input{i.amount, i.taxed});
    auto rules = applicable_rules(config->rules, account.country);
    // An exempt client pays no tax; with a tax id it is a reverse charge
    // (the buyer accounts for the VAT), said on the invoice.
    auto totals
      = compute_totals(inputs, rules, config->settings.prices_include_tax,
                       config->settings.tax_rounding, account.tax_exempt, *cur);
    if (!totals)
      return totals.error();
    computed_totals out;
    out.subtotal = totals->subtotal;
    out.total = totals->total;
    out.reverse_charge = account.tax_exempt && !account.tax_id.empty();
    for (const auto& tax : totals->taxes)
      out.taxes.push_back(invoice_tax_line{tax.name, tax.r, tax.amount});
    return out;
  };
  return t;
}

} // namespace billow::billing
