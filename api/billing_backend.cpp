#include "api/billing_backend.hpp"

#include <boost/json.hpp>
#include <caf/event_based_actor.hpp>

#include "api/answers.hpp"
#include "api/errors.hpp"
#include "api/pending_answers.hpp"
#include "api/problem.hpp"
#include "api/route_helpers.hpp"
#include "billing_document/invoice_json.hpp"
#include "events/errc.hpp"

namespace billow::api {

namespace json = boost::json;
using billing::billing_reply;

void add_billing_table(route_table& routes,
                       const std::shared_ptr<const auth_context>& auth,
                       billing_backend backend,
                       std::vector<named_route<billing_env>> table) {
  billing_env env{auth,
                  std::make_shared<const billing_backend>(std::move(backend))};
  add_named_routes(routes, env, std::move(table));
}

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

billing::billing_command command_of(const request_context& ctx, std::string op,
                                    const json::object& body) {
  billing::billing_command cmd;
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

/// Sends `cmd` to the billing registry and answers through `on_reply`
/// (default: the entity, 201 when the command created it and
/// `created_status` says so), errors as `billing_error`.
void ask_billing(const request_context& ctx,
                 const std::shared_ptr<const billing_backend>& be,
                 billing::billing_command cmd, unsigned created_status,
                 reply_fn on_reply) {
  auto* pending = ctx.pending;
  auto ticket = pending->add(ctx, pending_answers::clock::now() + ask_timeout);
  ctx.self
    ->request(be->billing, caf::infinite, billing::billing_cmd_atom::value,
              std::move(cmd))
    .then(
      [pending, ticket, created_status,
       on_reply = std::move(on_reply)](const billing::billing_reply& r) {
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
                const billing::billing_reply& r) {
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

void created_unless_repeated(const request_context& ctx,
                             const billing::billing_reply& r) {
  ctx.reply(
    with_position(json_response(r.duplicate ? 200 : 201, r.body), r.position));
}

std::optional<events::uuid> id_with_body(const request_context& ctx,
                                         boost::json::object& body) {
  auto id = id_param(ctx);
  if (!id || !read_body(ctx, body))
    return std::nullopt;
  return id;
}

void get_invoice(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  auto id = id_param(ctx);
  if (!id)
    return;
  auto cmd = command_of(ctx, "invoice.get", {});
  cmd.invoice_id = *id;
  ask_billing(ctx, be, std::move(cmd));
}

void invoice_pdf(const request_context& ctx, const billing_env& env) {
  auto be = env.be;
  auto auth = env.auth;
  auto id = id_param(ctx);
  if (!id)
    return;
  auto cmd = command_of(ctx, "invoice.get", {});
  cmd.invoice_id = *id;
  ask_billing(ctx, be, std::move(cmd), 200,
              [auth](const request_context& ctx, const billing_reply& r) {
                answer_pdf(*auth, ctx, r);
              });
}

void list_invoices(const request_context& ctx, const billing_env& env) {
  json::object none;
  field_checker check{none};
  auto filter = invoice_filter_of(ctx, check);
  auto lp = parse_list_params(ctx, check);
  if (!check.ok())
    return ctx.reply(check.problem());
  if (ctx.caller && ctx.caller->kind == "client") // its own only
    filter.client_id = ctx.caller->id;
  answer_invoice_list(ctx, *env.auth, env.be, filter, lp);
}

} // namespace billow::api
