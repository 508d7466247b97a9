#include "api/billing_routes.hpp"

#include <charconv>

#include <boost/json.hpp>
#include <caf/event_based_actor.hpp>
#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "actors/aggregate.hpp"
#include "api/answers.hpp"
#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "api/pending_answers.hpp"
#include "api/problem.hpp"
#include "api/read_waits.hpp"
#include "api/route_helpers.hpp"
#include "billing_document/invoice_json.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"

namespace billow::api {

namespace json = boost::json;
using billing::billing_command;
using billing::billing_reply;

namespace {

/// `If-Match` as the version a command expects, -1 when absent.
int64_t expected_of(const request_context& ctx, field_checker& check,
                    std::string_view what) {
  auto v = if_match_version(ctx, check, what);
  return v ? static_cast<int64_t>(*v) : -1;
}

/// The body as an object, or the answered 400/422.
bool read_body(const request_context& ctx, json::object& body) {
  if (auto bad = parse_object_body(ctx.request(), body)) {
    ctx.reply(std::move(*bad));
    return false;
  }
  return true;
}

// -- billing-specific ---------------------------------------------------------

/// A refusal from the account actor: a field's (`amount: ...`) as a 422
/// naming the field, the others as their status.
http_response billing_error(const caf::error& err) {
  if (errc_of(err) == billow_errc::invalid_argument) {
    auto detail = detail_of(err);
    auto colon = detail.find(": ");
    if (colon != std::string::npos && colon > 0 && detail.find(' ') > colon) {
      json::object none;
      field_checker check{none};
      check.fail(detail.substr(0, colon), detail.substr(colon + 2));
      return check.problem();
    }
  }
  return error_response(err);
}

billing_command command_of(const request_context& ctx, std::string op,
                           const json::object& body) {
  billing_command cmd;
  cmd.op = std::move(op);
  cmd.body = json::serialize(body);
  cmd.actor = ctx.caller ? ctx.caller->actor() : "system";
  cmd.idempotency_key = idempotency_key(ctx);
  cmd.correlation_id = events::uuid::random();
  if (ctx.caller && ctx.caller->kind == "client")
    if (auto id = events::uuid::parse(ctx.caller->id))
      cmd.owner = *id;
  return cmd;
}

using reply_fn
  = std::function<void(const request_context&, const billing_reply&)>;

/// Sends `cmd` to the billing registry and answers through `on_reply`
/// (default: the entity, 201 when the command created it and
/// `created_status` says so), errors as `billing_error`.
void ask_billing(const request_context& ctx,
                 const std::shared_ptr<const billing_backend>& be,
                 billing_command cmd, unsigned created_status = 201,
                 reply_fn on_reply = {}) {
  auto* pending = ctx.pending;
  auto ticket = pending->add(ctx, pending_answers::clock::now() + ask_timeout);
  ctx.self
    ->request(be->billing, caf::infinite, billing::billing_cmd_atom::value,
              std::move(cmd))
    .then(
      [pending, ticket, created_status,
       on_reply = std::move(on_reply)](const billing_reply& r) {
        auto waiting = pending->take(ticket);
        if (!waiting)
          return;
        if (on_reply)
          return on_reply(*waiting, r);
        auto resp = json_response(r.created ? created_status : 200, r.body);
        resp.headers.emplace_back("X-Billow-Position",
                                  std::to_string(r.position));
        waiting->reply(std::move(resp));
      },
      [pending, ticket](caf::error& err) {
        if (auto waiting = pending->take(ticket))
          waiting->reply(billing_error(err));
      });
}

/// Renders the invoice of `r` (personal values revealed) as a PDF, off the
/// actor threads.
void answer_pdf(const auth_context& auth, const request_context& ctx,
                const billing_reply& r) {
  auth.run_blocking([ctx, body = r.body] {
    json::value doc = json::parse(body);
    if (ctx.answers != nullptr)
      ctx.answers->apply(doc);
    auto pdf = billing::render_invoice_pdf(
      billing::document_of_invoice(doc.as_object()));
    if (!pdf)
      return ctx.reply(error_response(pdf.error()));
    http_response resp;
    resp.status = 200;
    resp.content_type = "application/pdf";
    resp.body = std::move(*pdf);
    auto number = doc.as_object().if_contains("number");
    auto name = number && number->is_string() ? std::string{number->as_string()}
                                              : std::string{"draft"};
    resp.headers.emplace_back("Content-Disposition",
                              "inline; filename=\"" + name + ".pdf\"");
    ctx.reply(std::move(resp));
  });
}

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

void money_required(const json::object& body, std::string_view field,
                    field_checker& check) {
  auto* v = body.if_contains(field);
  if (v == nullptr || v->is_null())
    check.fail(std::string{field}, "is required");
  else if (!v->is_string())
    check.fail(std::string{field},
               "must be a string such as \"12.50\", not a JSON number");
}

/// The invoice list of `filter` as a page.
void answer_invoice_list(const request_context& ctx, const auth_context& auth,
                         const std::shared_ptr<const billing_backend>& be,
                         projections::invoice_filter filter, list_params lp) {
  when_reached(
    ctx, auth, be->projection, lp.min_position, be->read_wait,
    [ctx, be, filter, lp] {
      auto position = be->projection->position();
      auto page = be->projection->invoices(filter, lp.after, lp.limit);
      json::array items;
      for (const auto& inv : page.items)
        items.push_back(inv.to_json());
      ctx.reply(list_response(std::move(items), page.next_after, position));
    });
}

/// The invoice filter of `?status=&type=&client_id=`.
projections::invoice_filter invoice_filter_of(const request_context& ctx,
                                              field_checker& check) {
  projections::invoice_filter f;
  if (auto s = ctx.request().query_param("status")) {
    billing::invoice_status st{};
    if (billing::parse_invoice_status(*s, st))
      f.status = st;
    else
      check.fail("status",
                 "must be draft, unpaid, paid, cancelled or refunded");
  }
  if (auto t = ctx.request().query_param("type")) {
    billing::invoice_type ty{};
    if (billing::parse_invoice_type(*t, ty))
      f.type = ty;
    else
      check.fail("type", "must be invoice, proforma or credit_note");
  }
  if (auto c = ctx.request().query_param("client_id")) {
    if (auto id = events::uuid::parse(*c))
      f.client_id = events::to_string(*id);
    else
      check.fail("client_id", "must be a UUID");
  }
  return f;
}

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

http_response with_position(http_response resp, uint64_t position) {
  resp.headers.emplace_back("X-Billow-Position", std::to_string(position));
  return resp;
}

/// A `validated` value's problems as the 422 naming each field.
http_response
problems_response(const std::vector<billing::field_problem>& problems) {
  json::object none;
  field_checker check{none};
  for (const auto& p : problems)
    check.fail(p.field, p.detail);
  return check.problem();
}

json::object settings_json(const billing::billing_config::snapshot& snap) {
  auto out = billing::to_json(snap.settings);
  out["version"] = snap.settings_version;
  return out;
}

} // namespace

void add_billing_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        billing_backend backend) {
  auto be = std::make_shared<const billing_backend>(std::move(backend));

  // -- settings and tax rules -----------------------------------------------
  routes.add("GET", "/api/v1/admin/billing/settings",
             require_admin(auth, "billing.read",
                           [be](const request_context& ctx) {
                             auto snap = be->config->current();
                             if (!snap)
                               return ctx.reply(error_response(snap.error()));
                             ctx.reply(json_response(
                               200, json::serialize(settings_json(**snap))));
                           }),
             {"The billing settings (every key, defaults included)",
              "billing.read",
              {},
              false,
              200,
              "application/json",
              "",
              "billing_settings"});

  routes.add(
    "PUT", "/api/v1/admin/billing/settings",
    require_admin(
      auth, "billing.write",
      [be](const request_context& ctx) {
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
          return ctx.reply(problem_response(
            412,
            fmt::format("The settings are at version {}, not {}.",
                        (*snap)->settings_version, expected)));
        auto next = billing::apply_settings_update((*snap)->settings, body);
        if (!next)
          return ctx.reply(problems_response(next.problems()));
        auto version = (*snap)->settings_version;
        auto json_settings = billing::to_json(*next);
        append_config(
          ctx, be, billing::settings_stream,
          events::expected_version::exact(version), "billing.settings_updated",
          json_settings, [ctx, json_settings](const events::append_result& r) {
            auto out = json_settings;
            out["version"] = r.version;
            ctx.reply(with_position(json_response(200, json::serialize(out)),
                                    r.last_position));
          });
      }),
    {"Change billing settings (the keys given; If-Match: the version)",
     "billing.write",
     {},
     true,
     200,
     "application/json",
     "billing_settings",
     "billing_settings"});

  routes.add(
    "GET", "/api/v1/admin/tax-rules",
    require_admin(auth, "billing.read",
                  [be](const request_context& ctx) {
                    auto snap = be->config->current();
                    if (!snap)
                      return ctx.reply(error_response(snap.error()));
                    json::array items;
                    for (const auto& r : (*snap)->rules)
                      items.push_back(billing::to_json(r));
                    ctx.reply(json_response(
                      200,
                      json::serialize(json::object{{"items", std::move(items)},
                                                   {"next_cursor", nullptr}})));
                  }),
    {"Every tax rule",
     "billing.read",
     {},
     false,
     200,
     "application/json",
     "",
     "page_of_tax_rule"});

  routes.add(
    "POST", "/api/v1/admin/tax-rules",
    require_admin(auth, "billing.write",
                  [be](const request_context& ctx) {
                    json::object body;
                    if (!read_body(ctx, body))
                      return;
                    auto rule = billing::parse_tax_rule(body);
                    if (!rule)
                      return ctx.reply(problems_response(rule.problems()));
                    rule->id = events::to_string(event_id_for(ctx, "tax_rule"));
                    auto payload = billing::to_json(*rule);
                    append_config(
                      ctx, be, billing::tax_rules_stream,
                      events::expected_version::any(), "tax_rule.created",
                      payload, [ctx, payload](const events::append_result& r) {
                        ctx.reply(
                          with_position(json_response(r.duplicate ? 200 : 201,
                                                      json::serialize(payload)),
                                        r.last_position));
                      });
                  }),
    {"Create a tax rule",
     "billing.write",
     {},
     true,
     201,
     "application/json",
     "tax_rule",
     "tax_rule"});

  // -- invoices -------------------------------------------------------------
  routes.add(
    "GET", "/api/v1/admin/invoices",
    require_admin(auth, "invoices.read",
                  [auth, be](const request_context& ctx) {
                    json::object none;
                    field_checker check{none};
                    auto filter = invoice_filter_of(ctx, check);
                    auto lp = parse_list_params(ctx, check);
                    if (!check.ok())
                      return ctx.reply(check.problem());
                    answer_invoice_list(ctx, *auth, be, filter, lp);
                  }),
    {"Invoices, proformas and credit notes, newest last",
     "invoices.read",
     {"status", "type", "client_id", "limit", "cursor", "min_position"},
     false,
     200,
     "application/json",
     "",
     "page_of_invoice"});

  routes.add(
    "POST", "/api/v1/admin/invoices",
    require_admin(
      auth, "invoices.write",
      [be](const request_context& ctx) {
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
        ask_billing(ctx, be, std::move(cmd), 201,
                    [](const request_context& ctx, const billing_reply& r) {
                      auto resp = json_response(201, r.body);
                      ctx.reply(with_position(std::move(resp), r.position));
                    });
      }),
    {"Draft a manual invoice",
     "invoices.write",
     {},
     true,
     201,
     "application/json",
     "invoice_request",
     "invoice"});

  routes.add("GET", "/api/v1/admin/invoices/{id}",
             require_admin(auth, "invoices.read",
                           [be](const request_context& ctx) {
                             auto id = id_param(ctx);
                             if (!id)
                               return;
                             auto cmd = command_of(ctx, "invoice.get", {});
                             cmd.invoice_id = *id;
                             ask_billing(ctx, be, std::move(cmd));
                           }),
             {"One invoice",
              "invoices.read",
              {},
              false,
              200,
              "application/json",
              "",
              "invoice"});

  routes.add("GET", "/api/v1/admin/invoices/{id}/pdf",
             require_admin(auth, "invoices.read",
                           [auth, be](const request_context& ctx) {
                             auto id = id_param(ctx);
                             if (!id)
                               return;
                             auto cmd = command_of(ctx, "invoice.get", {});
                             cmd.invoice_id = *id;
                             ask_billing(ctx, be, std::move(cmd), 200,
                                         [auth](const request_context& ctx,
                                                const billing_reply& r) {
                                           answer_pdf(*auth, ctx, r);
                                         });
                           }),
             {"The invoice as a PDF document",
              "invoices.read",
              {},
              false,
              200,
              "application/pdf"});

  // A command on one invoice: its body's fields, the required ones, and the
  // command's name.
  struct invoice_command {
    const char* path;
    const char* op;
    const char* permission;
    std::initializer_list<std::string_view> fields;
    const char* summary;
  };
  for (const auto& c : std::initializer_list<invoice_command>{
         {"issue",
          "invoice.issue",
          "invoices.write",
          {},
          "Issue a draft: it takes the next number of its series"},
         {"cancel",
          "invoice.cancel",
          "invoices.write",
          {"reason"},
          "Cancel a draft or an unpaid invoice without payments"},
         {"apply-credit",
          "invoice.apply_credit",
          "invoices.write",
          {"amount"},
          "Pay the invoice (or `amount` of it) from the client's balance"},
       }) {
    std::vector<std::string> known(c.fields.begin(), c.fields.end());
    routes.add(
      "POST", std::string{"/api/v1/admin/invoices/{id}/"} + c.path,
      require_admin(
        auth, c.permission,
        [be, op = std::string{c.op}, known](const request_context& ctx) {
          auto id = id_param(ctx);
          if (!id)
            return;
          json::object body;
          if (!ctx.request().body.empty() && !read_body(ctx, body))
            return;
          field_checker check{body};
          for (const auto& [k, v] : body)
            if (std::find(known.begin(), known.end(), k) == known.end())
              check.fail(std::string{k}, "is not a field of this request");
          if (op == "invoice.apply_credit" && body.contains("amount"))
            money_required(body, "amount", check);
          auto expected = expected_of(ctx, check, "invoice");
          if (!check.ok())
            return ctx.reply(check.problem());
          auto cmd = command_of(ctx, op, body);
          cmd.invoice_id = *id;
          cmd.expected_version = expected;
          ask_billing(ctx, be, std::move(cmd), 200);
        }),
      {c.summary,
       c.permission,
       {},
       c.fields.size() > 0,
       200,
       "application/json",
       "",
       "invoice"});
  }

  routes.add(
    "POST", "/api/v1/admin/invoices/{id}/payments",
    require_admin(
      auth, "invoices.write",
      [be](const request_context& ctx) {
        auto id = id_param(ctx);
        if (!id)
          return;
        json::object body;
        if (!read_body(ctx, body))
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
        ask_billing(ctx, be, std::move(cmd), 201,
                    [](const request_context& ctx, const billing_reply& r) {
                      // 201 for a payment recorded now, 200 for one known
                      // before.
                      ctx.reply(with_position(
                        json_response(r.duplicate ? 200 : 201, r.body),
                        r.position));
                    });
      }),
    {"Record a payment (once per gateway and transaction id; more than the "
     "amount due is credited to the balance)",
     "invoices.write",
     {},
     true,
     201,
     "application/json",
     "payment_request",
     "invoice"});

  routes.add(
    "POST", "/api/v1/admin/invoices/{id}/refunds",
    require_admin(auth, "payments.refund",
                  [be](const request_context& ctx) {
                    auto id = id_param(ctx);
                    if (!id)
                      return;
                    json::object body;
                    if (!read_body(ctx, body))
                      return;
                    field_checker check{body};
                    check.only({"amount", "reason", "method"});
                    money_required(body, "amount", check);
                    check.required_string("reason", 1000);
                    auto method = check.required_string("method", 10);
                    if (!method.empty() && method != "gateway"
                        && method != "credit" && method != "record")
                      check.fail("method", "must be gateway, credit or record");
                    if (!check.ok())
                      return ctx.reply(check.problem());
                    body["credit_note_id"]
                      = events::to_string(event_id_for(ctx, "credit_note"));
                    auto cmd = command_of(ctx, "invoice.refund", body);
                    cmd.invoice_id = *id;
                    ask_billing(ctx, be, std::move(cmd), 201);
                  }),
    {"Refund (part of) a paid invoice: a credit note that refers to it",
     "payments.refund",
     {},
     true,
     201,
     "application/json",
     "refund_request",
     "invoice"});

  // -- accounts -------------------------------------------------------------
  routes.add(
    "GET", "/api/v1/admin/clients/{id}/account",
    require_admin(auth, "billing.read",
                  [be](const request_context& ctx) {
                    auto id = id_param(ctx);
                    if (!id)
                      return;
                    auto cmd = command_of(ctx, "account.get", {});
                    cmd.client_id = *id;
                    ask_billing(ctx, be, std::move(cmd));
                  }),
    {"A client's account: currency, billing mode, credit limit, tax profile, "
     "balance",
     "billing.read",
     {},
     false,
     200,
     "application/json",
     "",
     "account"});

  routes.add(
    "PUT", "/api/v1/admin/clients/{id}",
    require_admin(
      auth, "clients.write",
      [be](const request_context& ctx) {
        auto id = id_param(ctx);
        if (!id)
          return;
        json::object body;
        if (!read_body(ctx, body))
          return;
        field_checker check{body};
        check.only({"billing_mode", "credit_limit", "country", "tax_id",
                    "tax_exempt"},
                   {"name", "email", "address", "phone", "currency"});
        auto mode = check.optional_string("billing_mode", 10);
        if (body.contains("billing_mode") && mode != "invoice"
            && mode != "prepaid")
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
          if (auto err = vault::seal_fields(
                *be->vault.personal, "client-" + events::to_string(*id), body))
            return ctx.reply(error_response(err));
        auto cmd = command_of(ctx, "account.update", body);
        cmd.client_id = *id;
        cmd.expected_version = expected;
        ask_billing(ctx, be, std::move(cmd), 200);
      }),
    {"Change a client's billing mode, credit limit and tax profile (If-Match: "
     "the account's version)",
     "clients.write",
     {},
     true,
     200,
     "application/json",
     "account_update",
     "account"});

  routes.add(
    "POST", "/api/v1/admin/clients/{id}/adjustments",
    require_admin(auth, "billing.write",
                  [be](const request_context& ctx) {
                    auto id = id_param(ctx);
                    if (!id)
                      return;
                    json::object body;
                    if (!read_body(ctx, body))
                      return;
                    field_checker check{body};
                    check.only({"amount", "reason"});
                    money_required(body, "amount", check);
                    check.required_string("reason", 1000);
                    if (!check.ok())
                      return ctx.reply(check.problem());
                    auto cmd = command_of(ctx, "account.adjust", body);
                    cmd.client_id = *id;
                    ask_billing(
                      ctx, be, std::move(cmd), 201,
                      [](const request_context& ctx, const billing_reply& r) {
                        ctx.reply(with_position(
                          json_response(r.duplicate ? 200 : 201, r.body),
                          r.position));
                      });
                  }),
    {"Credit (positive) or debit (negative) the client's balance",
     "billing.write",
     {},
     true,
     201,
     "application/json",
     "adjustment_request",
     "account"});

  routes.add(
    "GET", "/api/v1/admin/clients/{id}/ledger",
    require_admin(
      auth, "billing.read",
      [auth, be](const request_context& ctx) {
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
          [auth, be, lp, client = events::to_string(*id)](
            const request_context& ctx, const billing_reply& r) {
            auth->run_blocking([ctx, be, lp, client, body = r.body] {
              auto account = json::parse(body).as_object();
              auto currency = std::string{account.at("currency").as_string()};
              auto evs = be->store->read_stream("account-" + client,
                                                lp.after + 1,
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
              ctx.reply(list_response(std::move(items), next,
                                      be->store->last_position()));
            });
          });
      }),
    {"A client's ledger (the balance account), oldest first",
     "billing.read",
     {"limit", "cursor"},
     false,
     200,
     "application/json",
     "",
     "page_of_ledger_entry"});

  // -- the client area ------------------------------------------------------
  routes.add("GET", "/api/v1/client/invoices",
             require_client(auth,
                            [auth, be](const request_context& ctx) {
                              json::object none;
                              field_checker check{none};
                              auto filter = invoice_filter_of(ctx, check);
                              auto lp = parse_list_params(ctx, check);
                              if (!check.ok())
                                return ctx.reply(check.problem());
                              filter.client_id = ctx.caller->id;
                              answer_invoice_list(ctx, *auth, be, filter, lp);
                            }),
             {"The client's invoices",
              "",
              {"status", "type", "limit", "cursor", "min_position"},
              false,
              200,
              "application/json",
              "",
              "page_of_invoice"});

  routes.add("GET", "/api/v1/client/invoices/{id}",
             require_client(auth,
                            [be](const request_context& ctx) {
                              auto id = id_param(ctx);
                              if (!id)
                                return;
                              auto cmd = command_of(ctx, "invoice.get", {});
                              cmd.invoice_id = *id;
                              ask_billing(ctx, be, std::move(cmd));
                            }),
             {"One of the client's invoices",
              "",
              {},
              false,
              200,
              "application/json",
              "",
              "invoice"});

  routes.add("GET", "/api/v1/client/invoices/{id}/pdf",
             require_client(auth,
                            [auth, be](const request_context& ctx) {
                              auto id = id_param(ctx);
                              if (!id)
                                return;
                              auto cmd = command_of(ctx, "invoice.get", {});
                              cmd.invoice_id = *id;
                              ask_billing(ctx, be, std::move(cmd), 200,
                                          [auth](const request_context& ctx,
                                                 const billing_reply& r) {
                                            answer_pdf(*auth, ctx, r);
                                          });
                            }),
             {"One of the client's invoices as a PDF",
              "",
              {},
              false,
              200,
              "application/pdf"});

  routes.add("GET", "/api/v1/client/account",
             require_client(auth,
                            [be](const request_context& ctx) {
                              auto cmd = command_of(ctx, "account.get", {});
                              cmd.client_id = cmd.owner;
                              ask_billing(ctx, be, std::move(cmd));
                            }),
             {"The client's account and balance",
              "",
              {},
              false,
              200,
              "application/json",
              "",
              "account"});

  routes.add("POST", "/api/v1/client/add-funds",
             require_client(auth,
                            [be](const request_context& ctx) {
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
                            }),
             {"Add funds: a proforma to pay; paid, it credits the balance",
              "",
              {},
              true,
              201,
              "application/json",
              "add_funds_request",
              "invoice"});
}

} // namespace billow::api
