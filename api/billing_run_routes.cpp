#include "api/billing_run_routes.hpp"

#include <boost/json.hpp>

#include "actors/billing/currency.hpp"
#include "actors/billing/invoice_state.hpp"
#include "actors/billing/money.hpp"
#include "actors/billing/periods.hpp"
#include "api/billing_plan.hpp"
#include "api/problem.hpp"
#include "api/route_helpers.hpp"
#include "events/event_store.hpp"

namespace billow::api {

namespace json = boost::json;

json::object run_counts_json(const billing::run_counts& c) {
  return {{"invoices_issued", c.invoices_issued},
          {"charges", c.charges},
          {"reminders", c.reminders},
          {"suspended", c.suspended},
          {"unsuspended", c.unsuspended},
          {"terminated", c.terminated}};
}

namespace {

void run_billing(const request_context& ctx, const billing_env& env) {
  if (!env.be->scheduler)
    return ctx.reply(
      problem_response(503, "The billing scheduler is not running."));
  ask_for<billing::run_counts>(
    ctx, env.be->scheduler,
    [](const request_context& c, const billing::run_counts& counts) {
      c.reply(json_response(200, json::serialize(run_counts_json(counts))));
    },
    billing::billing_run_atom::value);
}

/// A planned renewal as the preview shows the invoice it issues (its total
/// untaxed: the taxes are the account actor's to compute at issue).
json::object preview_invoice(const billing::renewal& r) {
  const auto* cur = billing::find_currency(r.currency);
  auto money = [&](int64_t minor) {
    return cur != nullptr ? billing::format_amount(minor, *cur)
                          : std::to_string(minor);
  };
  return {
    {"invoice_id", events::to_string(r.invoice_id)},
    {"client_id", r.client_id},
    {"service_id", r.service_id},
    {"total", money(r.amount_minor)},
    {"currency", r.currency},
    {"due_date", r.due_date},
    {"items",
     json::array{json::object{
       {"description", billing::renewal_description(r.product_name, r.period)},
       {"service_id", r.service_id},
       {"period_from", r.period_from},
       {"period_to", r.period_to},
       {"amount", money(r.amount_minor)},
       {"taxed", true}}}}};
}

void preview_billing(const request_context& ctx, const billing_env& env) {
  auto check = query_checker();
  auto client = uuid_param(ctx, "client_id", check);
  auto today = billing::date_of(env.be->clock->now_us());
  std::string until = today;
  if (auto u = ctx.request().query_param("until")) {
    if (!billing::add_days(*u, 0))
      check.fail("until", "must be a date such as 2026-01-31");
    else if (*u < today)
      check.fail("until", "must not be before today (" + today + ")");
    else
      until = std::string{*u};
  }
  if (!check.ok())
    return ctx.reply(check.problem());
  auto be = env.be;
  env.auth->run_blocking([ctx, be, client, until] {
    // As of the log's head, as a run now would see it.
    auto head = be->store->last_position();
    be->projection->wait_for(head, be->read_wait);
    be->provisioning->wait_for(head, be->read_wait);
    auto plan = plan_billing({be->projection, be->provisioning, be->config},
                             until, client);
    if (!plan)
      return ctx.reply(error_response(plan.error()));
    json::array invoices;
    for (const auto& r : plan->renewals)
      invoices.push_back(preview_invoice(r));
    auto resp = json_response(
      200,
      json::serialize(json::object{{"until", until},
                                   {"invoices", std::move(invoices)},
                                   {"charges", json::array{}},
                                   {"suspend", json::array{}},
                                   {"terminate", json::array{}}}));
    ctx.reply(with_position(std::move(resp), head));
  });
}

} // namespace

void add_billing_run_routes(route_table& routes,
                            const std::shared_ptr<const auth_context>& auth,
                            billing_backend backend) {
  add_billing_table(
    routes, auth, std::move(backend),
    {
      {"POST",
       "/api/v1/admin/billing/run",
       run_billing,
       {"Run the billing automation for the clock's now (renewal invoices); "
        "a second run at the same time does nothing",
        "billing.write"}},
      {"GET",
       "/api/v1/admin/billing/preview",
       preview_billing,
       {"What billing runs up to `until` would do, computed by the run's own "
        "code, writing nothing",
        "billing.read",
        {"client_id", "until"}}},
    });
}

} // namespace billow::api
