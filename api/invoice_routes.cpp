#include "api/invoice_routes.hpp"

#include <boost/json.hpp>

#include "api/billing_backend.hpp"
#include "api/route_helpers.hpp"

namespace billow::api {

namespace json = boost::json;
using billing::billing_reply;

namespace {

/// Checks the items of a manual invoice's body (their amounts are parsed by
/// the account actor, in the client's currency).
void check_items(const json::object& body, field_checker& check) {
  auto* items = body.if_contains("items");
  if (items == nullptr || !items->is_array() || items->as_array().empty()) {
    check.fail("items", "must be a non-empty array of items");
    return;
  }
  if (items->as_array().size() > 500)
    check.fail("items", "must hold at most 500 items");
  size_t n = 0;
  for (const auto& item : items->as_array()) {
    auto path = "items[" + std::to_string(n++) + "]";
    if (!item.is_object()) {
      check.fail(path, "must be an object");
      continue;
    }
    const auto& o = item.as_object();
    for (const auto& [k, v] : o)
      if (k != "description" && k != "amount" && k != "taxed"
          && k != "service_id" && k != "period_from" && k != "period_to")
        check.fail(path + "." + std::string{k}, "is not a field of an item");
    auto* d = o.if_contains("description");
    if (d == nullptr || !d->is_string() || d->as_string().empty()
        || d->as_string().size() > 500)
      check.fail(path + ".description",
                 "must be a non-empty string of at most 500 characters");
    if (!o.contains("amount"))
      check.fail(path + ".amount", "is required");
    if (auto* t = o.if_contains("taxed"); t && !t->is_bool())
      check.fail(path + ".taxed", "must be true or false");
    for (const char* date : {"period_from", "period_to"})
      if (auto* v = o.if_contains(date);
          v && (!v->is_string() || v->as_string().size() != 10))
        check.fail(path + "." + date, "must be a date such as 2026-01-31");
  }
}

bool is_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-')
    return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (text[i] < '0' || text[i] > '9')
      return false;
  return true;
}

void create_invoice(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  json::object body;
  if (!read_body(ctx, body))
    return;
  field_checker check{body};
  check.only({"client_id", "items", "due_date"});
  auto client = events::uuid::parse(check.required_string("client_id"));
  if (!client && body.contains("client_id"))
    check.fail("client_id", "must be a client's UUID");
  check_items(body, check);
  auto due = check.optional_string("due_date", 10);
  if (!due.empty() && !is_date(due))
    check.fail("due_date", "must be a date such as 2026-01-31");
  if (!check.ok())
    return ctx.reply(check.problem());
  auto cmd = command_of(ctx, "invoice.create", body);
  cmd.client_id = *client;
  cmd.invoice_id = event_id_for(ctx, "invoice");
  ask_billing(ctx, be, std::move(cmd), 201, created_unless_repeated);
}

void record_payment(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  json::object body;
  auto id = id_with_body(ctx, body);
  if (!id)
    return;
  field_checker check{body};
  check.only({"amount", "currency", "gateway", "transaction_id", "fee"});
  money_required(body, "amount", check);
  check.required_string("currency", 3);
  check.required_string("gateway", 100);
  check.required_string("transaction_id", 200);
  if (body.contains("fee"))
    money_required(body, "fee", check);
  if (!check.ok())
    return ctx.reply(check.problem());
  auto cmd = command_of(ctx, "invoice.pay", body);
  cmd.invoice_id = *id;
  ask_billing(ctx, be, std::move(cmd), 201, created_unless_repeated);
}

void refund_invoice(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  json::object body;
  auto id = id_with_body(ctx, body);
  if (!id)
    return;
  field_checker check{body};
  check.only({"amount", "reason", "method"});
  money_required(body, "amount", check);
  check.required_string("reason", 1000);
  auto method = check.required_string("method", 10);
  if (!method.empty() && method != "gateway" && method != "credit"
      && method != "record")
    check.fail("method", "must be gateway, credit or record");
  if (!check.ok())
    return ctx.reply(check.problem());
  body["credit_note_id"] = events::to_string(event_id_for(ctx, "credit_note"));
  auto cmd = command_of(ctx, "invoice.refund", body);
  cmd.invoice_id = *id;
  ask_billing(ctx, be, std::move(cmd), 201);
}

/// A command on one invoice with the body fields `known` (the body may be
/// empty): issue, cancel, apply credit.
void invoice_command(const request_context& ctx, const billing_env& env,
                     const std::string& op,
                     std::initializer_list<std::string_view> known) {
  auto id = id_param(ctx);
  if (!id)
    return;
  json::object body;
  if (!ctx.request().body.empty() && !read_body(ctx, body))
    return;
  field_checker check{body};
  check.only(known);
  if (op == "invoice.apply_credit" && body.contains("amount"))
    money_required(body, "amount", check);
  auto expected = expected_of(ctx, check, "invoice");
  if (!check.ok())
    return ctx.reply(check.problem());
  auto cmd = command_of(ctx, op, body);
  cmd.invoice_id = *id;
  cmd.expected_version = expected;
  ask_billing(ctx, env.be, std::move(cmd), 200);
}

void issue_invoice(const request_context& ctx, const billing_env& env) {
  invoice_command(ctx, env, "invoice.issue", {});
}

void cancel_invoice(const request_context& ctx, const billing_env& env) {
  invoice_command(ctx, env, "invoice.cancel", {"reason"});
}

void apply_credit(const request_context& ctx, const billing_env& env) {
  invoice_command(ctx, env, "invoice.apply_credit", {"amount"});
}

} // namespace

void add_invoice_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        billing_backend backend) {
  add_billing_table(
    routes, auth, std::move(backend),
    {
      {"GET",
       "/api/v1/admin/invoices",
       list_invoices,
       {"Invoices, proformas and credit notes, newest last",
        "invoices.read",
        {"status", "type", "client_id", "limit", "cursor", "min_position"},
        false,
        200,
        "application/json",
        "",
        "page_of_invoice"}},
      {"POST",
       "/api/v1/admin/invoices",
       create_invoice,
       {"Draft a manual invoice",
        "invoices.write",
        {},
        true,
        201,
        "application/json",
        "invoice_request",
        "invoice"}},
      {"GET",
       "/api/v1/admin/invoices/{id}",
       get_invoice,
       {"One invoice",
        "invoices.read",
        {},
        false,
        200,
        "application/json",
        "",
        "invoice"}},
      {"GET",
       "/api/v1/admin/invoices/{id}/pdf",
       invoice_pdf,
       {"The invoice as a PDF document",
        "invoices.read",
        {},
        false,
        200,
        "application/pdf"}},
      {"POST",
       "/api/v1/admin/invoices/{id}/issue",
       issue_invoice,
       {"Issue a draft: it takes the next number of its series",
        "invoices.write",
        {},
        true,
        200,
        "application/json",
        "issue_request",
        "invoice",
        true}},
      {"POST",
       "/api/v1/admin/invoices/{id}/cancel",
       cancel_invoice,
       {"Cancel a draft or an unpaid invoice without payments",
        "invoices.write",
        {},
        true,
        200,
        "application/json",
        "cancel_request",
        "invoice",
        true}},
      {"POST",
       "/api/v1/admin/invoices/{id}/apply-credit",
       apply_credit,
       {"Pay the invoice (or `amount` of it) from the client's balance",
        "invoices.write",
        {},
        true,
        200,
        "application/json",
        "apply_credit_request",
        "invoice",
        true}},
      {"POST",
       "/api/v1/admin/invoices/{id}/payments",
       record_payment,
       {"Record a payment (once per gateway and transaction id; more than the "
        "amount due is credited to the balance)",
        "invoices.write",
        {},
        true,
        201,
        "application/json",
        "payment_request",
        "invoice"}},
      {"POST",
       "/api/v1/admin/invoices/{id}/refunds",
       refund_invoice,
       {"Refund (part of) a paid invoice: a credit note that refers to it",
        "payments.refund",
        {},
        true,
        201,
        "application/json",
        "refund_request",
        "invoice"}},
    });
}

} // namespace billow::api
