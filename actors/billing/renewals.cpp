#include "actors/billing/renewals.hpp"

#include <boost/json.hpp>

#include "actors/aggregate.hpp"
#include "actors/billing/invoice_state.hpp"
#include "actors/billing/periods.hpp"

namespace billow::billing {

namespace json = boost::json;

std::string renewal::body() const {
  return json::serialize(json::object{{"service_id", service_id},
                                      {"product_name", product_name},
                                      {"period", period},
                                      {"amount", amount},
                                      {"period_from", period_from},
                                      {"period_to", period_to},
                                      {"due_date", due_date}});
}

std::string renewal_description(std::string_view product_name,
                                std::string_view period) {
  auto out = std::string{product_name};
  out += " (";
  out += period;
  out += ')';
  return out;
}

events::uuid renewal_invoice_id(std::string_view service_id,
                                std::string_view period_from) {
  auto key = std::string{service_id};
  key += '|';
  key += period_from;
  return actors::derive_uuid("renewal", key, 0);
}

std::string renewal_window_end(int64_t now_us, int days_in_advance) {
  auto today = date_of(now_us);
  auto end = add_days(today, days_in_advance);
  return end ? *end : today;
}

caf::expected<std::vector<renewal>>
renewals_due(const renewal_input& in, std::string_view until,
             const std::function<bool(const events::uuid&)>& exists,
             size_t max) {
  std::vector<renewal> out;
  if (in.anchor.empty() || !is_calendar_period(in.period))
    return out;
  int64_t k = 0;
  if (!in.billed_until.empty()) {
    auto after = add_days(in.billed_until, 1);
    if (!after)
      return after.error();
    auto first = first_period_from(in.anchor, in.period, *after);
    if (!first)
      return first.error();
    k = *first;
  }
  for (; out.size() < max; ++k) {
    auto from = period_start(in.anchor, in.period, k);
    if (!from)
      return from.error();
    if (*from > until)
      break;
    auto id = renewal_invoice_id(in.service_id, *from);
    if (exists && exists(id))
      continue;
    auto to = period_end(in.anchor, in.period, k);
    if (!to)
      return to.error();
    renewal r;
    r.invoice_id = id;
    r.client_id = in.client_id;
    r.service_id = in.service_id;
    r.product_name = in.product_name;
    r.period = in.period;
    r.amount = in.amount;
    r.amount_minor = in.amount_minor;
    r.currency = in.currency;
    r.period_from = *from;
    r.period_to = *to;
    r.due_date = *from;
    out.push_back(std::move(r));
  }
  return out;
}

} // namespace billow::billing
