#include "api/service_routes.hpp"

#include <boost/json.hpp>

#include "api/billing_plan.hpp"
#include "api/prices.hpp"
#include "api/problem.hpp"
#include "api/read_waits.hpp"
#include "api/redaction.hpp"
#include "api/route_helpers.hpp"
#include "events/event_store.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

// -- the service as answers show it -------------------------------------------

/// The row's service data, an object.
json::value service_data(const projections::service_row& row) {
  boost::system::error_code ec;
  auto doc = json::parse(row.service_data, ec);
  if (ec || !doc.is_object())
    return json::object{};
  return doc;
}

/// A service as docs/api.md shows it; `row` (the projection's) adds what
/// only the projection knows, and its service data; `product_name` is the
/// projection's name of its product; `billing` its `next_due_date` and
/// `billed_until` (api/billing_plan.hpp).
json::object
service_json(const actors::service_view& v, const projections::service_row* row,
             const std::optional<std::string>& product_name, bool show_secrets,
             const projections::billing_projection* billing) {
  json::object out{
    {"id", events::to_string(v.id)},
    {"label", or_null(v.label)},
    {"client_id", events::to_string(v.client_id)},
    {"product_id", events::to_string(v.product_id)},
    {"product_name",
     product_name ? json::value(*product_name) : json::value(nullptr)},
    {"period", or_null(v.period)},
    {"module", or_null(v.module)},
    {"status", actors::to_string(v.status)},
    {"provision_status", actors::to_string(v.provision)},
    {"pending_operation",
     v.pending_op == actors::service_op::none
       ? json::value(nullptr)
       : json::value(actors::to_string(v.pending_op))},
    {"job_id",
     v.job_id.is_nil() ? json::value(nullptr)
                       : json::value(events::to_string(v.job_id))},
    {"last_error", or_null(v.last_error)},
    {"next_due_date",
     row == nullptr ? json::value(nullptr) : or_null(row->next_due_date)},
    {"version", v.version},
  };
  add_service_billing(out, billing, events::to_string(v.id));
  if (row != nullptr) {
    out["created_at"] = rfc3339(row->created_us);
    out["updated_at"] = rfc3339(row->updated_us);
  }
  auto data = row != nullptr ? service_data(*row) : json::value(json::object{});
  if (!show_secrets)
    redact_secrets(data);
  out["service_data"] = std::move(data);
  return out;
}

/// The answer about a service: its JSON (secrets redacted unless the caller
/// may see them), the job a command queued, its version as ETag and the log
/// position it reflects; the service data as the projection has it now.
http_response service_response(const request_context& ctx,
                               const admin_backend& be,
                               const actors::service_view& v, unsigned status,
                               const events::uuid& job_id) {
  auto position = be.store->last_position();
  auto row = be.provisioning->service(events::to_string(v.id));
  auto out = service_json(
    v, row ? &*row : nullptr,
    be.provisioning->product_name(events::to_string(v.product_id)),
    shows_secrets(ctx), be.billing_list.get());
  if (!job_id.is_nil())
    out["job_id"] = events::to_string(job_id);
  auto resp = json_response(status, json::serialize(out));
  resp.headers.emplace_back("ETag", std::to_string(v.version));
  add_position(resp, position);
  return resp;
}

/// The answer about a service straight from the provisioning projection,
/// when that is as fresh as the actor: the projection has applied every
/// durable event (so every acknowledged command) and `min_position`. Saves
/// the actor and pool hops of the GET; none when it cannot answer.
std::optional<http_response>
service_response_from_projection(const request_context& ctx,
                                 const admin_backend& be,
                                 const events::uuid& id,
                                 uint64_t min_position) {
  auto head = be.store->last_position();
  auto position = be.provisioning->position();
  if (position < head || position < min_position)
    return std::nullopt;
  auto row = be.provisioning->service(events::to_string(id));
  if (!row)
    return std::nullopt; // unknown here: the actor answers (404 or a race)
  auto view = row->view();
  auto out = service_json(
    view, &*row,
    be.provisioning->product_name(events::to_string(view.product_id)),
    shows_secrets(ctx), be.billing_list.get());
  auto resp = json_response(200, json::serialize(out));
  resp.headers.emplace_back("ETag", std::to_string(view.version));
  add_position(resp, position);
  return resp;
}

/// Answers `v` with its service data once the provisioning projection holds
/// `v`'s version, so the data is never older than the status: at once when
/// it does, else once it has applied the log as it is now (the wait holds
/// no thread), or after the read wait with what it has then.
void answer_service(const request_context& ctx, const admin_env& env,
                    const actors::service_view& v) {
  auto answer = [ctx, env, v] {
    ctx.reply(service_response(ctx, *env.be, v, 200, {}));
  };
  auto row = env.be->provisioning->service(events::to_string(v.id));
  if (row && row->version >= v.version)
    return answer();
  env.auth->waits->when_reached(gate_of(env.be->provisioning),
                                env.be->store->last_position(),
                                env.be->read_wait, answer, answer);
}

// -- ordering -----------------------------------------------------------------

/// 201 with the service as ordered, the create's job and the first invoice's
/// id; 422 naming the fields when the order is refused.
void answer_order(const request_context& ctx, const admin_env& env,
                  const orders::order_reply& r) {
  if (!r.problems.empty()) {
    auto check = query_checker();
    for (const auto& p : r.problems)
      check.fail(p.field, p.message);
    return ctx.reply(check.problem());
  }
  auto resp = service_response(ctx, *env.be, r.service, 201, r.job_id);
  if (!r.invoice_id.empty()) {
    auto body = json::parse(resp.body).as_object();
    body["invoice_id"] = r.invoice_id;
    resp.body = json::serialize(body);
  }
  ctx.reply(std::move(resp));
}

void order_service(const request_context& ctx, const admin_env& env) {
  json::object body;
  if (auto bad = parse_object_body(ctx.request(), body))
    return ctx.reply(std::move(*bad));
  field_checker check{body};
  check.only({"client_id", "product_id", "period", "label", "provision"});
  auto client_text = check.required_string("client_id", 36);
  auto product_text = check.required_string("product_id", 36);
  orders::service_order order;
  order.period = check.optional_string("period", 20);
  order.label = check.optional_string("label", 200);
  auto provision = check.optional_string("provision", 10);
  auto client_id = events::uuid::parse(client_text);
  auto product_id = events::uuid::parse(product_text);
  if (!client_text.empty() && !client_id)
    check.fail("client_id", "must be a UUID");
  if (!product_text.empty() && !product_id)
    check.fail("product_id", "must be a UUID");
  if (!order.period.empty() && order.period.size() <= 20
      && !is_price_period(order.period))
    check.fail("period", not_a_period_message());
  if (!provision.empty() && provision != "now")
    check.fail("provision", "must be \"now\" when given");
  if (!check.ok())
    return ctx.reply(check.problem());
  order.client_id = *client_id;
  order.product_id = *product_id;
  order.provision_now = provision == "now";
  order.actor = ctx.caller->actor();
  order.idempotency_key = idempotency_key(ctx);
  // With a key, a retry names the same service (and so the same invoice).
  auto id = order.idempotency_key.empty() ? events::uuid::random()
                                          : event_id_for(ctx, "service");
  // One message: the desk checks the client and product with their
  // aggregates, prices the order, opens and (`now`) creates the service and
  // issues its first invoice.
  ask_for<orders::order_reply>(
    ctx, env.be->orders,
    [env](const request_context& ctx, const orders::order_reply& r) {
      answer_order(ctx, env, r);
    },
    orders::order_atom::value, id, std::move(order));
}

// -- reading ------------------------------------------------------------------

constexpr actors::service_status listed_statuses[]
  = {actors::service_status::pending, actors::service_status::active,
     actors::service_status::suspended, actors::service_status::terminated,
     actors::service_status::cancelled};

/// A page of services of an admin (any client; filters by client and
/// product) or of a client (its own services only, service data redacted as
/// in the client area's GET of one).
void answer_service_list(const request_context& ctx, const admin_env& env,
                         bool client_area) {
  auto check = query_checker();
  auto params = parse_list_params(ctx, check);
  projections::service_filter filter;
  if (auto status = ctx.request().query_param("status")) {
    filter.status = parse_enum(*status, listed_statuses);
    if (!filter.status)
      check.fail("status",
                 "must be pending, active, suspended, terminated or "
                 "cancelled");
  }
  if (client_area) {
    filter.client_id = ctx.caller->id;
  } else {
    filter.client_id = uuid_param(ctx, "client_id", check);
    filter.product_id = uuid_param(ctx, "product_id", check);
  }
  if (!check.ok())
    return ctx.reply(check.problem());
  bool secrets = shows_secrets(ctx);
  when_reached(
    ctx, *env.auth, env.be->provisioning, params.min_position,
    env.be->read_wait, [ctx, env, filter, params, secrets] {
      const auto& prov = *env.be->provisioning;
      const auto* billing = env.be->billing_list.get();
      auto position = prov.position();
      auto page = prov.services(filter, params.after, params.limit);
      json::array items;
      items.reserve(page.items.size());
      for (const auto& row : page.items) {
        auto name = prov.product_name(events::to_string(row.state.product_id));
        items.push_back(service_json(row.view(), &row, name, secrets, billing));
      }
      ctx.reply(list_response(std::move(items), page.next_after, position));
    });
}

void list_services(const request_context& ctx, const admin_env& env) {
  answer_service_list(ctx, env, false);
}

void list_own_services(const request_context& ctx, const admin_env& env) {
  answer_service_list(ctx, env, true);
}

void get_service(const request_context& ctx, const admin_env& env) {
  auto read = parse_one_read(ctx);
  if (!read)
    return;
  const auto& be = *env.be;
  if (auto resp = service_response_from_projection(ctx, be, read->id,
                                                   read->min_position))
    return ctx.reply(std::move(*resp));
  auto from_actor = [env](const request_context& ctx,
                          const actors::service_view& v) {
    answer_service(ctx, env, v);
  };
  if (be.provisioning->position() >= read->min_position)
    return ask_for<actors::service_view>(ctx, be.services, from_actor,
                                         actors::query_atom::value, read->id);
  // Once the projection is there (the wait holds no thread), from an I/O
  // thread: the projection answers if it can, else the actor.
  when_reached(ctx, *env.auth, be.provisioning, read->min_position,
               be.read_wait, [ctx, env, read = *read, from_actor] {
                 if (auto resp = service_response_from_projection(
                       ctx, *env.be, read.id, read.min_position))
                   return ctx.reply(std::move(*resp));
                 ask_for_anywhere<actors::service_view>(
                   ctx, env.be->services, from_actor, actors::query_atom::value,
                   read.id);
               });
}

// -- the lifecycle ------------------------------------------------------------

std::optional<actors::service_op> parse_op(std::string_view name) {
  using actors::service_op;
  for (auto op :
       {service_op::create, service_op::suspend, service_op::unsuspend,
        service_op::terminate, service_op::change_package, service_op::cancel})
    if (name == actors::to_string(op))
      return op;
  return std::nullopt;
}

void run_lifecycle(const request_context& ctx, const admin_env& env) {
  auto id = id_param(ctx);
  if (!id)
    return;
  auto op = parse_op(ctx.params.at("operation"));
  if (!op)
    return ctx.reply(problem_response(
      404,
      "No operation " + ctx.params.at("operation")
        + " (create, suspend, unsuspend, terminate, change_package, "
          "cancel)."));
  json::object body;
  if (auto bad = parse_optional_object_body(ctx.request(), body))
    return ctx.reply(std::move(*bad));
  field_checker check{body};
  if (*op == actors::service_op::change_package)
    check.only({"reason", "product_id"}, {"period"});
  else
    check.only({"reason"});
  actors::service_command cmd;
  cmd.op = *op;
  cmd.reason = check.optional_string("reason", 1000);
  cmd.actor = ctx.caller->actor();
  cmd.idempotency_key = idempotency_key(ctx);
  if (*op == actors::service_op::change_package) {
    auto product = events::uuid::parse(check.required_string("product_id", 36));
    if (!product)
      check.fail("product_id", "must be the UUID of the new product");
    else
      cmd.product_id = *product;
  }
  if (auto version = if_match_version(ctx, check, "service"))
    cmd.expected_version = static_cast<int64_t>(*version);
  if (!check.ok())
    return ctx.reply(check.problem());
  // One round trip: the command's answer carries the service as the command
  // left it (the data from the projection, without waiting: the command
  // does not change it, its job's result will).
  ask_for<actors::service_command_reply>(
    ctx, env.be->services,
    [env](const request_context& ctx, const actors::service_command_reply& r) {
      const auto& job = r.result.job_id;
      ctx.reply(
        service_response(ctx, *env.be, r.view, job.is_nil() ? 200 : 202, job));
    },
    actors::svc_cmd_view_atom::value, *id, std::move(cmd));
}

} // namespace

void add_service_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        admin_backend backend) {
  add_admin_table(
    routes, auth, std::move(backend),
    {
      {"POST",
       "/api/v1/admin/services",
       order_service,
       {"Order a service (pending); \"provision\": \"now\" creates it at once",
        "services.write",
        {},
        true,
        201}},
      {"GET",
       "/api/v1/admin/services",
       list_services,
       {"Services in order of creation, filtered by status, client or product",
        "services.read", list_query({"status", "client_id", "product_id"})}},
      {"GET",
       "/api/v1/admin/services/{id}",
       get_service,
       {"One service with its status, provision status, service data and "
        "version",
        "services.read",
        {"min_position"}}},
      {"POST",
       "/api/v1/admin/services/{id}/{operation}",
       run_lifecycle,
       {"Run a lifecycle operation; 202 with the job id when the module works "
        "asynchronously, 409 when the state forbids it, 412 when If-Match is "
        "stale",
        "services.write",
        {},
        true,
        202}},
      {"GET",
       "/api/v1/client/services",
       list_own_services,
       {"The caller's own services in order of creation",
        std::string{client_area}, list_query({"status"})}},
    });
}

} // namespace billow::api
