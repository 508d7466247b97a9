#include "api/billing_settings_routes.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "api/billing_backend.hpp"
#include "api/route_helpers.hpp"

namespace billow::api {

namespace json = boost::json;
using billing::billing_reply;

namespace {

/// Appends one event to a configuration stream (settings, tax rules), its
/// id derived from the Idempotency-Key, and answers `respond(result)`.
void append_config(const request_context& ctx,
                   const std::shared_ptr<const billing_backend>& be,
                   std::string stream, events::expected_version expected,
                   std::string type, const json::object& payload,
                   std::function<void(const events::append_result&)> respond) {
  events::new_event ev;
  ev.event_id = event_id_for(ctx, stream);
  ev.type = std::move(type);
  ev.actor = ctx.caller->actor();
  ev.payload = json::serialize(payload);
  append_event(ctx, be->writer, std::move(stream), expected, std::move(ev),
               std::move(respond));
}

json::object settings_json(const billing::billing_config::snapshot& snap) {
  auto out = billing::to_json(snap.settings);
  out["version"] = snap.settings_version;
  return out;
}

void get_settings(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  auto snap = be->config->current();
  if (!snap)
    return ctx.reply(error_response(snap.error()));
  ctx.reply(json_response(200, json::serialize(settings_json(**snap))));
}

void update_settings(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  json::object body;
  if (!read_body(ctx, body))
    return;
  field_checker check{body};
  auto expected = expected_of(ctx, check, "settings");
  if (!check.ok())
    return ctx.reply(check.problem());
  auto snap = be->config->current();
  if (!snap)
    return ctx.reply(error_response(snap.error()));
  if (expected >= 0
      && static_cast<uint64_t>(expected) != (*snap)->settings_version)
    return ctx.reply(
      problem_response(412,
                       fmt::format("The settings are at version {}, not {}.",
                                   (*snap)->settings_version, expected)));
  auto next = billing::apply_settings_update((*snap)->settings, body);
  if (!next)
    return ctx.reply(problems_response(next.problems()));
  auto version = (*snap)->settings_version;
  auto json_settings = billing::to_json(*next);
  append_config(ctx, be, billing::settings_stream,
                events::expected_version::exact(version),
                "billing.settings_updated", json_settings,
                [ctx, json_settings](const events::append_result& r) {
                  auto out = json_settings;
                  out["version"] = r.version;
                  ctx.reply(with_position(
                    json_response(200, json::serialize(out)), r.last_position));
                });
}

void list_tax_rules(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  auto snap = be->config->current();
  if (!snap)
    return ctx.reply(error_response(snap.error()));
  json::array items;
  for (const auto& r : (*snap)->rules)
    items.push_back(billing::to_json(r));
  ctx.reply(
    json_response(200,
                  json::serialize(json::object{{"items", std::move(items)},
                                               {"next_cursor", nullptr}})));
}

void create_tax_rule(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  json::object body;
  if (!read_body(ctx, body))
    return;
  auto rule = billing::parse_tax_rule(body);
  if (!rule)
    return ctx.reply(problems_response(rule.problems()));
  rule->id = events::to_string(event_id_for(ctx, "tax_rule"));
  auto payload = billing::to_json(*rule);
  append_config(ctx, be, billing::tax_rules_stream,
                events::expected_version::any(), "tax_rule.created", payload,
                [ctx, payload](const events::append_result& r) {
                  ctx.reply(
                    with_position(json_response(r.duplicate ? 200 : 201,
                                                json::serialize(payload)),
                                  r.last_position));
                });
}

} // namespace

void add_billing_settings_routes(
  route_table& routes, const std::shared_ptr<const auth_context>& auth,
  billing_backend backend) {
  add_billing_table(
    routes, auth, std::move(backend),
    {
      {"GET",
       "/api/v1/admin/billing/settings",
       get_settings,
       {"The billing settings (every key, defaults included)",
        "billing.read",
        {},
        false,
        200,
        "application/json",
        "",
        "billing_settings"}},
      {"PUT",
       "/api/v1/admin/billing/settings",
       update_settings,
       {"Change billing settings (the keys given; If-Match: the version)",
        "billing.write",
        {},
        true,
        200,
        "application/json",
        "billing_settings",
        "billing_settings"}},
      {"GET",
       "/api/v1/admin/tax-rules",
       list_tax_rules,
       {"Every tax rule",
        "billing.read",
        {},
        false,
        200,
        "application/json",
        "",
        "page_of_tax_rule"}},
      {"POST",
       "/api/v1/admin/tax-rules",
       create_tax_rule,
       {"Create a tax rule",
        "billing.write",
        {},
        true,
        201,
        "application/json",
        "tax_rule",
        "tax_rule"}},
    });
}

} // namespace billow::api
