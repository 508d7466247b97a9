// The OpenAPI components of the billing routes (docs/api.md, "Admin:
// billing"): the invoice and its parts, the account and its ledger, the
// billing settings and tax rules, and their request bodies.

#include <boost/json.hpp>

#include "api/schemas.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

json::object typed(std::string_view type, std::string_view description = {}) {
  json::object out{{"type", type}};
  if (!description.empty())
    out["description"] = description;
  return out;
}

json::object money(std::string_view description) {
  return {{"type", "string"},
          {"pattern", "^-?[0-9]+(\\.[0-9]{1,4})?$"},
          {"description", description},
          {"example", "12.50"}};
}

json::object date(std::string_view description) {
  return {{"type", "string"}, {"format", "date"}, {"description", description}};
}

json::object uuid(std::string_view description) {
  return {{"type", "string"}, {"format", "uuid"}, {"description", description}};
}

json::object nullable(json::object prop) {
  prop["nullable"] = true;
  return prop;
}

json::object enum_of(std::initializer_list<std::string_view> values,
                     std::string_view description = {}) {
  json::array all;
  for (auto v : values)
    all.push_back(json::value(v));
  auto out = typed("string", description);
  out["enum"] = std::move(all);
  return out;
}

json::object array_of(json::object items) {
  return {{"type", "array"}, {"items", std::move(items)}};
}

json::object object_of(json::object properties,
                       std::initializer_list<std::string_view> required = {},
                       bool closed = false) {
  json::object out{{"type", "object"}, {"properties", std::move(properties)}};
  if (required.size() > 0) {
    json::array req;
    for (auto r : required)
      req.push_back(json::value(r));
    out["required"] = std::move(req);
  }
  if (closed)
    out["additionalProperties"] = false;
  return out;
}

json::object page_of(std::string_view component) {
  return object_of({{"items", array_of(schema_ref(component))},
                    {"next_cursor", nullable(typed("string"))}},
                   {"items", "next_cursor"});
}

json::object personal(json::object prop) {
  prop["x-personal"] = true;
  return prop;
}

const json::object rate = {{"type", "string"},
                           {"pattern", "^[0-9]{1,3}(\\.[0-9]{1,4})?$"},
                           {"example", "21.00"}};

} // namespace

json::object billing_component_schemas() {
  auto party = object_of({{"name", personal(typed("string"))},
                          {"email", personal(typed("string"))},
                          {"address", array_of(typed("string"))},
                          {"tax_id", personal(typed("string"))},
                          {"country", typed("string")}});
  auto item
    = object_of({{"description", typed("string")},
                 {"amount", money("Net, or gross with prices_include_tax")},
                 {"taxed", typed("boolean")},
                 {"service_id", uuid("The service the line bills")},
                 {"period_from", date("First day billed")},
                 {"period_to", date("Last day billed")}},
                {"description", "amount"}, true);
  auto tax_line = object_of(
    {{"name", typed("string")}, {"rate", rate}, {"amount", money("The tax")}},
    {"name", "rate", "amount"});
  auto transaction
    = object_of({{"type", enum_of({"payment", "credit", "refund"})},
                 {"amount", money("What moved")},
                 {"gateway",
                  typed("string",
                        "A gateway's id, a label such as bank, or "
                        "balance, or a refund's method")},
                 {"transaction_id", typed("string")},
                 {"fee", money("The gateway's fee")},
                 {"time", {{"type", "string"}, {"format", "date-time"}}}},
                {"type", "amount", "gateway", "transaction_id", "time"});
  auto invoice = object_of(
    {{"id", uuid("The invoice's id")},
     {"type", enum_of({"invoice", "proforma", "credit_note"})},
     {"series", nullable(enum_of({"invoice", "proforma", "credit_note"}))},
     {"sequence", nullable(typed("integer", "1, 2, 3 ... per series"))},
     {"number", nullable(typed("string", "INV-2026-000001; null for a draft"))},
     {"status", enum_of({"draft", "unpaid", "paid", "cancelled", "refunded"})},
     {"client_id", uuid("The buyer")},
     {"currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}},
     {"purpose",
      enum_of({"manual", "order", "add_funds", "add_funds_paid", "refund"})},
     {"issue_date", nullable(date("Set at issue"))},
     {"due_date", nullable(date("Due"))},
     {"paid_date", nullable(date("Paid in full"))},
     {"items", array_of(schema_ref("invoice_item"))},
     {"subtotal", money("Net")},
     {"taxes", array_of(schema_ref("tax_line"))},
     {"total", money("Gross")},
     {"amount_paid", money("Paid by payments")},
     {"amount_due", money("Still to pay")},
     {"credit_applied", money("Paid from the balance")},
     {"amount_refunded", money("Refunded by credit notes")},
     {"transactions", array_of(schema_ref("transaction"))},
     {"reverse_charge", typed("boolean")},
     {"refers_to", uuid("A credit note's invoice")},
     {"refers_to_number", typed("string")},
     {"invoice_id", uuid("A paid proforma's invoice")},
     {"credit_notes", array_of(uuid("A credit note of this invoice"))},
     {"service_id", uuid("An order's service")},
     {"cancel_reason", typed("string")},
     {"seller", party},
     {"buyer", party},
     {"version", typed("integer")},
     {"created_at", {{"type", "string"}, {"format", "date-time"}}},
     {"updated_at", {{"type", "string"}, {"format", "date-time"}}}},
    {"id", "type", "status", "client_id", "currency", "items", "subtotal",
     "taxes", "total", "amount_paid", "amount_due", "transactions", "version"});
  auto account = object_of(
    {{"client_id", uuid("The client")},
     {"currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}},
     {"billing_mode", enum_of({"invoice", "prepaid"})},
     {"credit_limit", money("How far the balance may go below zero")},
     {"balance", money("Credit (positive) of the client")},
     {"available", money("balance + credit_limit")},
     {"country", nullable(typed("string"))},
     {"tax_id", nullable(personal(typed("string")))},
     {"tax_exempt", typed("boolean")},
     {"ledger_entries", typed("integer")},
     {"version", typed("integer")}},
    {"client_id", "currency", "billing_mode", "credit_limit", "balance",
     "version"});
  auto ledger_entry = object_of(
    {{"id", uuid("The entry")},
     {"type", enum_of({"charge", "payment", "refund", "credit", "adjustment"})},
     {"amount", money("Signed: credit positive")},
     {"balance_after", money("The balance it left")},
     {"description", typed("string")},
     {"invoice_id", uuid("The invoice it concerns")},
     {"reason", typed("string")},
     {"time", {{"type", "string"}, {"format", "date-time"}}},
     {"actor", typed("string")},
     {"version", typed("integer")}},
    {"id", "type", "amount", "balance_after", "time"});
  auto tax_rule = object_of(
    {{"id", uuid("The rule")},
     {"name", typed("string")},
     {"rate", rate},
     {"country", nullable(typed("string", "ISO 3166; none: every client"))},
     {"level", {{"type", "integer"}, {"minimum", 1}, {"maximum", 3}}},
     {"compound", typed("boolean", "Taxes the amount plus lower levels")}},
    {"name", "rate", "level"});
  auto invoice_request
    = object_of({{"client_id", uuid("The buyer")},
                 {"items", array_of(schema_ref("invoice_item"))},
                 {"due_date", date("Due (default: the issue date)")}},
                {"client_id", "items"}, true);
  auto payment_request
    = object_of({{"amount", money("Received")},
                 {"currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}},
                 {"gateway", typed("string")},
                 {"transaction_id", typed("string")},
                 {"fee", money("The gateway's fee")}},
                {"amount", "currency", "gateway", "transaction_id"}, true);
  auto refund_request
    = object_of({{"amount", money("To refund")},
                 {"reason", typed("string")},
                 {"method", enum_of({"gateway", "credit", "record"})}},
                {"amount", "reason", "method"}, true);
  auto adjustment_request
    = object_of({{"amount", money("Credit (positive) or debit (negative)")},
                 {"reason", typed("string")}},
                {"amount", "reason"}, true);
  auto account_update
    = object_of({{"billing_mode", enum_of({"invoice", "prepaid"})},
                 {"credit_limit", money("Not negative")},
                 {"country", {{"type", "string"}, {"pattern", "^[A-Z]{2}$"}}},
                 {"tax_id", personal(typed("string"))},
                 {"tax_exempt", typed("boolean")}},
                {}, true);
  auto issue_request = object_of({}, {}, true);
  auto cancel_request = object_of(
    {{"reason", typed("string", "Why (kept in the audit log)")}}, {}, true);
  auto apply_credit_request = object_of(
    {{"amount", money("What the balance pays (default: the amount due)")}}, {},
    true);
  auto add_funds_request = object_of({{"amount", money("To add")}}, {"amount"},
                                     true);
  auto settings
    = object_of({{"default_mode", enum_of({"invoice", "prepaid"})},
                 {"invoice_days_in_advance", typed("integer")},
                 {"reminder_days_before_due", array_of(typed("integer"))},
                 {"overdue_reminder_days", array_of(typed("integer"))},
                 {"suspend_after_days_overdue", typed("integer")},
                 {"terminate_after_days_overdue", typed("integer")},
                 {"late_fee", typed("object")},
                 {"apply_credit", typed("boolean")},
                 {"prices_include_tax", typed("boolean")},
                 {"tax_rounding", enum_of({"per_line", "per_invoice"})},
                 {"number_formats",
                  object_of({{"invoice", typed("string")},
                             {"proforma", typed("string")},
                             {"credit_note", typed("string")}})},
                 {"credit_unused_on_cancel", typed("boolean")},
                 {"company",
                  object_of({{"name", typed("string")},
                             {"address", array_of(typed("string"))},
                             {"tax_id", typed("string")},
                             {"email", typed("string")},
                             {"logo_url", typed("string")}})},
                 {"version", typed("integer")}});
  return {{"invoice", std::move(invoice)},
          {"invoice_item", std::move(item)},
          {"tax_line", std::move(tax_line)},
          {"transaction", std::move(transaction)},
          {"account", std::move(account)},
          {"ledger_entry", std::move(ledger_entry)},
          {"tax_rule", std::move(tax_rule)},
          {"billing_settings", std::move(settings)},
          {"page_of_invoice", page_of("invoice")},
          {"page_of_ledger_entry", page_of("ledger_entry")},
          {"page_of_tax_rule", page_of("tax_rule")},
          {"invoice_request", std::move(invoice_request)},
          {"payment_request", std::move(payment_request)},
          {"refund_request", std::move(refund_request)},
          {"adjustment_request", std::move(adjustment_request)},
          {"account_update", std::move(account_update)},
          {"add_funds_request", std::move(add_funds_request)},
          {"issue_request", std::move(issue_request)},
          {"cancel_request", std::move(cancel_request)},
          {"apply_credit_request", std::move(apply_credit_request)}};
}

} // namespace billow::api
