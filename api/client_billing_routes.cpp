#include "api/client_billing_routes.hpp"

#include <boost/json.hpp>

#include "api/billing_backend.hpp"
#include "api/route_helpers.hpp"

namespace billow::api {

namespace json = boost::json;
using billing::billing_reply;

namespace {

void get_own_account(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  auto cmd = command_of(ctx, "account.get", {});
  cmd.client_id = cmd.owner;
  ask_billing(ctx, be, std::move(cmd));
}

void add_funds(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  json::object body;
  if (!read_body(ctx, body))
    return;
  field_checker check{body};
  check.only({"amount"});
  money_required(body, "amount", check);
  if (!check.ok())
    return ctx.reply(check.problem());
  auto cmd = command_of(ctx, "add_funds", body);
  cmd.client_id = cmd.owner;
  cmd.invoice_id = event_id_for(ctx, "proforma");
  ask_billing(ctx, be, std::move(cmd), 201);
}

} // namespace

void add_client_billing_routes(route_table& routes,
                               const std::shared_ptr<const auth_context>& auth,
                               billing_backend backend) {
  add_billing_table(
    routes, auth, std::move(backend),
    {
      {"GET",
       "/api/v1/client/invoices",
       list_invoices,
       {"The client's invoices",
        "client",
        {"status", "type", "limit", "cursor", "min_position"},
        false,
        200,
        "application/json",
        "",
        "page_of_invoice"}},
      {"GET",
       "/api/v1/client/invoices/{id}",
       get_invoice,
       {"One of the client's invoices",
        "client",
        {},
        false,
        200,
        "application/json",
        "",
        "invoice"}},
      {"GET",
       "/api/v1/client/invoices/{id}/pdf",
       invoice_pdf,
       {"One of the client's invoices as a PDF",
        "client",
        {},
        false,
        200,
        "application/pdf"}},
      {"GET",
       "/api/v1/client/account",
       get_own_account,
       {"The client's account and balance",
        "client",
        {},
        false,
        200,
        "application/json",
        "",
        "account"}},
      {"POST",
       "/api/v1/client/add-funds",
       add_funds,
       {"Add funds: a proforma to pay; paid, it credits the balance",
        "client",
        {},
        true,
        201,
        "application/json",
        "add_funds_request",
        "invoice"}},
    });
}

} // namespace billow::api
