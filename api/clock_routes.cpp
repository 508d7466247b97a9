#include "api/clock_routes.hpp"

#include <boost/json.hpp>

#include "actors/clock.hpp"
#include "api/billing_run_routes.hpp"
#include "api/problem.hpp"
#include "api/route_helpers.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

void advance_manual_clock(const request_context& ctx, const admin_env& env) {
  auto& clock = *env.be->clock;
  if (!clock.is_manual())
    return ctx.reply(problem_response(
      409,
      "The clock is the system clock; start billow serve --clock=manual "
      "to move time by hand."));
  json::object body;
  if (auto bad = parse_object_body(ctx.request(), body))
    return ctx.reply(std::move(*bad));
  auto* s = body.if_contains("seconds");
  if (s == nullptr || !s->is_int64() || s->as_int64() <= 0
      || s->as_int64() > 10LL * 365 * 86400) {
    field_checker check{body};
    check.fail("seconds", "must be a positive integer (at most ten years)");
    return ctx.reply(check.problem());
  }
  actors::advance_clock(clock, std::chrono::seconds(s->as_int64()));
  if (!env.be->billing_scheduler)
    return ctx.reply(json_response(
      200, json::serialize(json::object{{"now", rfc3339(clock.now_us())}})));
  // Then whatever fell due: the billing run for the new now.
  ask_for<billing::run_counts>(
    ctx, env.be->billing_scheduler,
    [&clock](const request_context& c, const billing::run_counts& counts) {
      c.reply(json_response(
        200,
        json::serialize(json::object{{"now", rfc3339(clock.now_us())},
                                     {"billing", run_counts_json(counts)}})));
    },
    billing::billing_run_atom::value);
}

} // namespace

void add_clock_routes(route_table& routes,
                      const std::shared_ptr<const auth_context>& auth,
                      admin_backend backend) {
  add_admin_table(
    routes, auth, std::move(backend),
    {
      {"POST",
       "/api/v1/admin/clock/advance",
       advance_manual_clock,
       {"Move the manual clock forward (only with --clock=manual)",
        "clock.write",
        {},
        true}},
    });
}

} // namespace billow::api
