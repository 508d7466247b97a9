#include "api/account_routes.hpp"

#include "actors/aggregate.hpp"

#include <cctype>

#include <boost/json.hpp>

#include "api/billing_backend.hpp"
#include "api/route_helpers.hpp"
#include "events/event_store.hpp"

namespace billow::api {

namespace json = boost::json;
using billing::billing_reply;

namespace {

void get_account(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  auto id = id_param(ctx);
  if (!id)
    return;
  auto cmd = command_of(ctx, "account.get", {});
  cmd.client_id = *id;
  ask_billing(ctx, be, std::move(cmd));
}

void update_account(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  json::object body;
  auto id = id_with_body(ctx, body);
  if (!id)
    return;
  field_checker check{body};
  check.only({"billing_mode", "credit_limit", "country", "tax_id",
              "tax_exempt"},
             {"name", "email", "address", "phone", "currency"});
  auto mode = check.optional_string("billing_mode", 10);
  if (body.contains("billing_mode") && mode != "invoice" && mode != "prepaid")
    check.fail("billing_mode", "must be invoice or prepaid");
  if (body.contains("credit_limit"))
    money_required(body, "credit_limit", check);
  auto country = check.optional_string("country", 2);
  if (body.contains("country")
      && (country.size() != 2 || !std::isupper(country[0])
          || !std::isupper(country[1])))
    check.fail("country", "must be an ISO 3166 code such as NL");
  check.optional_string("tax_id", 50);
  if (auto* v = body.if_contains("tax_exempt"); v && !v->is_bool())
    check.fail("tax_exempt", "must be true or false");
  auto expected = expected_of(ctx, check, "account");
  if (!check.ok())
    return ctx.reply(check.problem());
  // The tax id is personal data: sealed with the client's key.
  if (be->vault.personal)
    if (auto err = vault::seal_fields(*be->vault.personal,
                                      "client-" + events::to_string(*id), body))
      return ctx.reply(error_response(err));
  auto cmd = command_of(ctx, "account.update", body);
  cmd.client_id = *id;
  cmd.expected_version = expected;
  ask_billing(ctx, be, std::move(cmd), 200);
}

void adjust_balance(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  json::object body;
  auto id = id_with_body(ctx, body);
  if (!id)
    return;
  field_checker check{body};
  check.only({"amount", "reason"});
  money_required(body, "amount", check);
  check.required_string("reason", 1000);
  if (!check.ok())
    return ctx.reply(check.problem());
  auto cmd = command_of(ctx, "account.adjust", body);
  cmd.client_id = *id;
  ask_billing(ctx, be, std::move(cmd), 201, created_unless_repeated);
}

void list_ledger(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  auto auth = env.auth;
  auto id = id_param(ctx);
  if (!id)
    return;
  json::object none;
  field_checker check{none};
  auto lp = parse_list_params(ctx, check);
  if (!check.ok())
    return ctx.reply(check.problem());
  auto cmd = command_of(ctx, "account.get", {});
  cmd.client_id = *id;
  // The account (its currency, and a 404 for an unknown client), then
  // its stream from the cursor: each ledger event is an entry.
  ask_billing(
    ctx, be, std::move(cmd), 200,
    [auth, be, lp, client = events::to_string(*id)](const request_context& ctx,
                                                    const billing_reply& r) {
      auth->run_blocking([ctx, be, lp, client, body = r.body] {
        auto account = json::parse(body).as_object();
        auto currency = std::string{account.at("currency").as_string()};
        auto evs = be->store->read_stream("account-" + client, lp.after + 1,
                                          events::read_direction::forward,
                                          SIZE_MAX);
        if (!evs)
          return ctx.reply(error_response(evs.error()));
        json::array items;
        std::optional<uint64_t> next;
        for (const auto& ev : *evs) {
          if (!ev.type.starts_with("ledger."))
            continue;
          if (items.size() == lp.limit) {
            next = items.back().as_object().at("version").as_uint64();
            break;
          }
          items.push_back(billing::ledger_entry_json(
            ev, actors::parse_object(ev.payload), currency));
        }
        ctx.reply(
          list_response(std::move(items), next, be->store->last_position()));
      });
    });
}

} // namespace

void add_account_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        billing_backend backend) {
  add_billing_table(
    routes, auth, std::move(backend),
    {
      {"GET",
       "/api/v1/admin/clients/{id}/account",
       get_account,
       {"A client's account: currency, billing mode, credit limit, tax "
        "profile, "
        "balance",
        "billing.read",
        {},
        false,
        200,
        "application/json",
        "",
        "account"}},
      {"PUT",
       "/api/v1/admin/clients/{id}",
       update_account,
       {"Change a client's billing mode, credit limit and tax profile "
        "(If-Match: "
        "the account's version)",
        "clients.write",
        {},
        true,
        200,
        "application/json",
        "account_update",
        "account"}},
      {"POST",
       "/api/v1/admin/clients/{id}/adjustments",
       adjust_balance,
       {"Credit (positive) or debit (negative) the client's balance",
        "billing.write",
        {},
        true,
        201,
        "application/json",
        "adjustment_request",
        "account"}},
      {"GET",
       "/api/v1/admin/clients/{id}/ledger",
       list_ledger,
       {"A client's ledger (the balance account), oldest first",
        "billing.read",
        {"limit", "cursor"},
        false,
        200,
        "application/json",
        "",
        "page_of_ledger_entry"}},
    });
}

} // namespace billow::api
