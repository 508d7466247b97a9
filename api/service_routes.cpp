#include "api/service_routes.hpp"

#include <charconv>

#include <fmt/format.h>

#include <boost/json.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_actor_pointer.hpp>
#include <set>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "actors/billing/money.hpp"
#include "actors/clock.hpp"
#include "api/accounts.hpp"
#include "api/ask.hpp"
#include "api/auth.hpp"
#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "api/pending_answers.hpp"
#include "api/prices.hpp"
#include "api/problem.hpp"
#include "api/read_waits.hpp"
#include "api/redaction.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "modules/host/module_catalog.hpp"
#include "modules/host/module_jobs.hpp"
#include "modules/sdk/product.hpp"
#include "projections/admin_directory.hpp"
#include "projections/client_directory.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

constexpr auto ask_timeout = std::chrono::seconds(30);

std::string text(const json::object& obj, const char* key) {
  if (auto* v = obj.if_contains(key); v && v->is_string())
    return std::string{v->as_string()};
  return {};
}

/// Folds a simple `<kind>.created` / `<kind>.updated` stream into one object
/// (later events' fields win), with `id` and `version`.
std::optional<json::object> fold_entity(const events::event_store& store,
                                        const std::string& kind,
                                        const std::string& id) {
  auto evs = store.read_stream(kind + "-" + id, 1,
                               events::read_direction::forward, 10'000);
  if (!evs || evs->empty())
    return std::nullopt;
  json::object out{{"id", id}};
  for (const auto& ev : *evs) {
    out["version"] = ev.version;
    if (ev.type == kind + ".erased") { // its reason is for the audit log
      out["erased"] = true;
      continue;
    }
    boost::system::error_code ec;
    auto doc = json::parse(ev.payload, ec);
    if (ec || !doc.is_object())
      continue;
    for (auto& [k, v] : doc.as_object())
      out[k] = v;
    out["version"] = ev.version;
  }
  return out;
}

/// Asks `dest` with `xs...` and runs `on_reply(ctx, reply)`, or answers the
/// error, within `ask_timeout`: through the front's pending answers (no CAF
/// clock entry per request).
template <class Reply, class Dest, class OnReply, class... Ts>
void ask_for(const request_context& ctx, const Dest& dest, OnReply on_reply,
             Ts&&... xs) {
  auto* pending = ctx.pending;
  auto ticket = pending->add(ctx, pending_answers::clock::now() + ask_timeout);
  ctx.self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
    .then(
      [pending, ticket, on_reply](const Reply& r) {
        if (auto waiting = pending->take(ticket))
          on_reply(*waiting, r);
      },
      [pending, ticket](caf::error& err) {
        if (auto waiting = pending->take(ticket))
          waiting->reply(error_response(err));
      });
}

/// Validates a UUID path parameter; answers 404 (an id that cannot exist).
std::optional<events::uuid> id_param(const request_context& ctx,
                                     const char* name = "id") {
  auto id = events::uuid::parse(ctx.params.at(name));
  if (!id)
    ctx.reply(problem_response(
      404, "No resource with id " + ctx.params.at(name) + "."));
  return id;
}

/// `Idempotency-Key` (at most 200 characters), or empty.
std::string idempotency_key(const request_context& ctx) {
  auto key = ctx.request().header("Idempotency-Key");
  return key ? std::string{key->substr(0, 200)} : std::string{};
}

/// Event ids derived from an idempotency key, so a retried request appends
/// nothing new (the store answers the first positions).
events::uuid event_id_for(const request_context& ctx,
                          const std::string& stream_kind) {
  auto key = idempotency_key(ctx);
  if (key.empty())
    return events::uuid::random();
  auto seed = ctx.caller->actor() + "|" + stream_kind + "|" + key;
  unsigned char hash[16];
  crypto_generichash(hash, sizeof(hash),
                     reinterpret_cast<const unsigned char*>(seed.data()),
                     seed.size(), nullptr, 0);
  events::uuid out;
  std::copy(std::begin(hash), std::end(hash), out.bytes.begin());
  out.bytes[6] = static_cast<uint8_t>((out.bytes[6] & 0x0f) | 0x50); // v5-like
  out.bytes[8] = static_cast<uint8_t>((out.bytes[8] & 0x3f) | 0x80);
  return out;
}

/// 201 with `entity` and the position of its event as `X-Billow-Position`.
http_response created_response(const json::object& entity,
                               const events::append_result& res) {
  auto resp = json_response(201, json::serialize(entity));
  resp.headers.emplace_back("X-Billow-Position",
                            std::to_string(res.last_position));
  return resp;
}

/// A service's data as the provisioning projection holds it now (see
/// `answer_service` for a read that waits for it); the log scan when there
/// is no projection.
std::pair<json::value, std::optional<projections::service_row>>
service_data_of(const service_backend& be, const events::uuid& id) {
  if (!be.provisioning)
    return {modules::latest_service_data(*be.store, id), std::nullopt};
  auto row = be.provisioning->service(events::to_string(id));
  json::value data = json::object{};
  if (row) {
    boost::system::error_code ec;
    auto doc = json::parse(row->service_data, ec);
    if (!ec && doc.is_object())
      data = std::move(doc);
  }
  return {std::move(data), std::move(row)};
}

/// A service as docs/api.md shows it; `row` adds what only the projection
/// knows.
json::object service_json(const actors::service_view& v, json::value data,
                          bool show_secrets,
                          const projections::service_row* row) {
  json::object out{
    {"id", events::to_string(v.id)},
    {"client_id", events::to_string(v.client_id)},
    {"product_id", events::to_string(v.product_id)},
    {"module", v.module.empty() ? json::value(nullptr) : json::value(v.module)},
    {"status", actors::to_string(v.status)},
    {"provision_status", actors::to_string(v.provision)},
    {"pending_operation",
     v.pending_op == actors::service_op::none
       ? json::value(nullptr)
       : json::value(actors::to_string(v.pending_op))},
    {"job_id",
     v.job_id.is_nil() ? json::value(nullptr)
                       : json::value(events::to_string(v.job_id))},
    {"last_error",
     v.last_error.empty() ? json::value(nullptr) : json::value(v.last_error)},
    {"next_due_date",
     row == nullptr || row->next_due_date.empty()
       ? json::value(nullptr)
       : json::value(row->next_due_date)},
    {"version", v.version},
  };
  if (row != nullptr) {
    out["created_at"] = rfc3339(row->created_us);
    out["updated_at"] = rfc3339(row->updated_us);
  }
  if (!show_secrets)
    redact_secrets(data);
  out["service_data"] = std::move(data);
  return out;
}

/// The answer about a service: its JSON (secrets redacted unless the caller
/// may see them), the job a command queued, its version as ETag and the
/// log position it reflects as `X-Billow-Position`; the service data as the
/// projection has it now.
http_response service_response(const request_context& ctx,
                               const actors::service_view& v,
                               const service_backend& be, unsigned status,
                               const events::uuid& job_id) {
  bool secrets = projections::group_grants(ctx.caller->group, "secrets.read");
  auto position = be.store->last_position();
  auto [data, row] = service_data_of(be, v.id);
  auto out = service_json(v, std::move(data), secrets, row ? &*row : nullptr);
  if (!job_id.is_nil())
    out["job_id"] = events::to_string(job_id);
  auto resp = json_response(status, json::serialize(out));
  resp.headers.emplace_back("ETag", std::to_string(v.version));
  resp.headers.emplace_back("X-Billow-Position", std::to_string(position));
  return resp;
}

/// The answer about a service straight from the provisioning projection,
/// when that is as fresh as the actor: the projection has applied every
/// durable event (so every acknowledged command) and `min_position`. Saves
/// the actor and pool hops of the GET; nullopt when it cannot answer.
std::optional<http_response>
service_response_from_projection(const request_context& ctx,
                                 const service_backend& be,
                                 const events::uuid& id,
                                 uint64_t min_position) {
  if (!be.provisioning)
    return std::nullopt;
  auto head = be.store->last_position();
  auto position = be.provisioning->position();
  if (position < head || position < min_position)
    return std::nullopt;
  auto row = be.provisioning->service(events::to_string(id));
  if (!row)
    return std::nullopt; // unknown here: the actor answers (404 or a race)
  boost::system::error_code ec;
  json::value data = json::parse(row->service_data, ec);
  if (ec || !data.is_object())
    data = json::object{};
  bool secrets = projections::group_grants(ctx.caller->group, "secrets.read");
  auto view = row->view();
  auto out = service_json(view, std::move(data), secrets, &*row);
  auto resp = json_response(200, json::serialize(out));
  resp.headers.emplace_back("ETag", std::to_string(view.version));
  resp.headers.emplace_back("X-Billow-Position", std::to_string(position));
  return resp;
}

json::object job_json(const actors::job_view& v) {
  json::array failures;
  for (const auto& f : v.failures)
    failures.push_back(json::object{
      {"attempt", f.attempt}, {"kind", f.kind}, {"message", f.message}});
  json::array tags;
  for (const auto& t : v.tags)
    tags.push_back(json::value(t));
  boost::system::error_code ec;
  auto result = json::parse(v.result, ec);
  return {
    {"id", events::to_string(v.job_id)},
    {"status", actors::to_string(v.status)},
    {"module", v.module},
    {"method", v.method},
    {"service_id",
     v.service_id.is_nil() ? json::value(nullptr)
                           : json::value(events::to_string(v.service_id))},
    {"tags", std::move(tags)},
    {"attempt", v.attempt},
    {"attempts_used", v.attempts_used},
    {"exceptions", v.exceptions},
    {"tries", v.policy.tries},
    {"failures", std::move(failures)},
    {"result",
     v.result.empty() || ec ? json::value(nullptr) : std::move(result)},
    {"error", v.error.empty() ? json::value(nullptr) : json::value(v.error)},
    {"version", v.version},
  };
}

std::optional<actors::service_op> parse_op(std::string_view name) {
  using actors::service_op;
  for (auto op :
       {service_op::create, service_op::suspend, service_op::unsuspend,
        service_op::terminate, service_op::change_package, service_op::cancel})
    if (name == actors::to_string(op))
      return op;
  return std::nullopt;
}

/// `?limit=&cursor=&min_position=` of a list.
struct list_params {
  /// List position to continue after (from the cursor).
  uint64_t after = 0;
  size_t limit = 50;
  uint64_t min_position = 0;
};

constexpr int cursor_variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

/// An opaque cursor: the list position of the last item sent, base64url.
std::string encode_cursor(uint64_t after) {
  unsigned char raw[8];
  for (int i = 7; i >= 0; --i, after >>= 8)
    raw[i] = static_cast<unsigned char>(after & 0xff);
  char out[sodium_base64_ENCODED_LEN(8, cursor_variant)];
  sodium_bin2base64(out, sizeof(out), raw, sizeof(raw), cursor_variant);
  return out;
}

std::optional<uint64_t> decode_cursor(std::string_view text) {
  unsigned char raw[8];
  size_t len = 0;
  const char* end = nullptr;
  if (text.empty() || text.size() > 16
      || sodium_base642bin(raw, sizeof(raw), text.data(), text.size(), nullptr,
                           &len, &end, cursor_variant)
        != 0
      || len != sizeof(raw) || end != text.data() + text.size())
    return std::nullopt;
  uint64_t out = 0;
  for (auto b : raw)
    out = (out << 8) | b;
  return out;
}

/// An unsigned query parameter into `out`; a field error when malformed.
void uint_param(const request_context& ctx, std::string_view name,
                uint64_t& out, field_checker& check) {
  auto text = ctx.request().query_param(name);
  if (!text)
    return;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(),
                                   out);
  if (text->empty() || ec != std::errc{} || ptr != text->data() + text->size())
    check.fail(std::string{name}, "must be a non-negative integer");
}

list_params parse_list_params(const request_context& ctx,
                              field_checker& check) {
  list_params p;
  uint64_t limit = p.limit;
  uint_param(ctx, "limit", limit, check);
  if (limit == 0 || limit > 1000)
    check.fail("limit", "must be between 1 and 1000");
  p.limit = static_cast<size_t>(limit);
  if (auto cursor = ctx.request().query_param("cursor")) {
    if (auto after = decode_cursor(*cursor))
      p.after = *after;
    else
      check.fail("cursor", "must be a next_cursor this list answered");
  }
  uint_param(ctx, "min_position", p.min_position, check);
  return p;
}

/// The UUID in query parameter `name` (normalized), empty when absent.
std::string uuid_param(const request_context& ctx, std::string_view name,
                       field_checker& check) {
  auto text = ctx.request().query_param(name);
  if (!text)
    return {};
  auto id = events::uuid::parse(*text);
  if (!id) {
    check.fail(std::string{name}, "must be a UUID");
    return {};
  }
  return events::to_string(*id);
}

/// 504: `proj` did not reach `min_position` within `wait`.
http_response not_reached(const projections::projection& proj,
                          uint64_t min_position,
                          std::chrono::milliseconds wait) {
  return problem_response(
    504,
    fmt::format("The {} read model has not reached log position {} "
                "within {} ms (it is at {}); retry later.",
                proj.name(), min_position, wait.count(), proj.position()));
}

/// The position gate of `proj`, kept alive with it.
std::shared_ptr<const projections::position_gate>
gate_of(const std::shared_ptr<const projections::projection>& proj) {
  return {proj, &proj->gate()};
}

/// Runs `answer` once `proj` reached `min_position`: at once when it has,
/// else on an I/O thread once it gets there, the wait holding no thread
/// (read_waits.hpp); 504 when it does not get there within `wait`.
void when_reached(const request_context& ctx, const auth_context& auth,
                  const std::shared_ptr<const projections::projection>& proj,
                  uint64_t min_position, std::chrono::milliseconds wait,
                  std::function<void()> answer) {
  auth.waits->when_reached(gate_of(proj), min_position, wait, std::move(answer),
                           [ctx, proj, min_position, wait] {
                             ctx.reply(not_reached(*proj, min_position, wait));
                           });
}

/// Answers `v` with its service data once the provisioning projection holds
/// `v`'s version, so the data is never older than the status: at once when
/// it does, else once it has applied the log as it is now (the wait holds
/// no thread), or after the read wait with what it has then.
void answer_service(const request_context& ctx, const auth_context& auth,
                    const std::shared_ptr<const service_backend>& be,
                    const actors::service_view& v) {
  auto answer = [ctx, be, v] {
    ctx.reply(service_response(ctx, v, *be, 200, {}));
  };
  if (!be->provisioning) // the log scan: a store read
    return auth.run_blocking(answer);
  auto row = be->provisioning->service(events::to_string(v.id));
  if (row && row->version >= v.version)
    return answer();
  auth.waits->when_reached(gate_of(be->provisioning),
                           be->store->last_position(), be->read_wait, answer,
                           answer);
}

/// `{"items", "next_cursor"}` with the position it reflects.
http_response list_response(json::array items,
                            std::optional<uint64_t> next_after,
                            uint64_t position) {
  json::object body{{"items", std::move(items)},
                    {"next_cursor",
                     next_after ? json::value(encode_cursor(*next_after))
                                : json::value(nullptr)}};
  auto resp = json_response(200, json::serialize(body));
  resp.headers.emplace_back("X-Billow-Position", std::to_string(position));
  return resp;
}

/// The services of a list page as docs/api.md shows them.
json::array service_items(const std::vector<projections::service_row>& rows,
                          bool show_secrets) {
  json::array items;
  items.reserve(rows.size());
  for (const auto& row : rows) {
    boost::system::error_code ec;
    auto data = json::parse(row.service_data, ec);
    items.push_back(service_json(
      row.view(), ec ? json::object{} : std::move(data), show_secrets, &row));
  }
  return items;
}

/// A client or product of a list: its fields, id, version and times.
json::object entity_json(const projections::entity_row& row) {
  json::object out = row.fields;
  out["id"] = row.id;
  out["version"] = row.version;
  out["created_at"] = rfc3339(row.created_us);
  out["updated_at"] = rfc3339(row.updated_us);
  return out;
}

template <class Enum, size_t N>
std::optional<Enum> parse_enum(std::string_view text, const Enum (&all)[N]) {
  for (auto x : all)
    if (text == actors::to_string(x))
      return x;
  return std::nullopt;
}

constexpr actors::service_status listed_statuses[]
  = {actors::service_status::pending, actors::service_status::active,
     actors::service_status::suspended, actors::service_status::terminated,
     actors::service_status::cancelled};

constexpr actors::job_status job_statuses[]
  = {actors::job_status::queued, actors::job_status::running,
     actors::job_status::retrying, actors::job_status::completed,
     actors::job_status::failed};

/// The admin list routes, read from the projections.
void add_list_routes(route_table& routes,
                     const std::shared_ptr<const auth_context>& auth,
                     const std::shared_ptr<service_backend>& be) {
  const std::vector<std::string> paging = {"limit", "cursor", "min_position"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.end(), paging.begin(), paging.end());
    return more;
  };

  // The service list of an admin (any client, filters by client and
  // product) or of a client (its own services only, service data redacted
  // as in the client area's GET of one).
  auto service_list = [auth, be](bool client_area) {
    return [auth, be, client_area](const request_context& ctx) {
      json::object none;
      field_checker check{none};
      auto params = parse_list_params(ctx, check);
      projections::service_filter filter;
      if (auto status = ctx.request().query_param("status")) {
        filter.status = parse_enum(*status, listed_statuses);
        if (!filter.status)
          check.fail("status",
                     "must be pending, active, suspended, "
                     "terminated or cancelled");
      }
      if (client_area) {
        filter.client_id = ctx.caller->id;
      } else {
        filter.client_id = uuid_param(ctx, "client_id", check);
        filter.product_id = uuid_param(ctx, "product_id", check);
      }
      if (!check.ok())
        return ctx.reply(check.problem());
      bool secrets = !client_area
        && projections::group_grants(ctx.caller->group, "secrets.read");
      when_reached(ctx, *auth, be->provisioning, params.min_position,
                   be->read_wait, [ctx, be, filter, params, secrets] {
                     auto position = be->provisioning->position();
                     auto page = be->provisioning->services(
                       filter, params.after, params.limit);
                     ctx.reply(list_response(service_items(page.items, secrets),
                                             page.next_after, position));
                   });
    };
  };
  routes.add(
    "GET", "/api/v1/admin/services",
    require_admin(auth, "services.read", service_list(false)),
    {"Services in order of creation, filtered by status, client or product",
     "services.read", with({"status", "client_id", "product_id"})});
  routes.add("GET", "/api/v1/client/services",
             require_client(auth, service_list(true)),
             {"The caller's own services in order of creation", "client",
              with({"status"})});

  for (auto kind : {"client", "product"}) {
    std::string plural = std::string{kind} + "s";
    routes.add(
      "GET", "/api/v1/admin/" + plural,
      require_admin(
        auth, plural + ".read",
        [auth, be, plural](const request_context& ctx) {
          json::object none;
          field_checker check{none};
          auto params = parse_list_params(ctx, check);
          if (!check.ok())
            return ctx.reply(check.problem());
          when_reached(
            ctx, *auth, be->provisioning, params.min_position, be->read_wait,
            [ctx, be, plural, params] {
              auto position = be->provisioning->position();
              auto page = plural == "clients"
                ? be->provisioning->clients(params.after, params.limit)
                : be->provisioning->products(params.after, params.limit);
              json::array items;
              for (const auto& row : page.items)
                items.push_back(entity_json(row));
              ctx.reply(
                list_response(std::move(items), page.next_after, position));
            });
        }),
      {"The " + plural + " in order of creation", plural + ".read", paging});
  }

  routes.add("GET", "/api/v1/admin/jobs",
             require_admin(
               auth, "jobs.read",
               [auth, be](const request_context& ctx) {
                 json::object none;
                 field_checker check{none};
                 auto params = parse_list_params(ctx, check);
                 projections::job_filter filter;
                 if (auto status = ctx.request().query_param("status")) {
                   filter.status = parse_enum(*status, job_statuses);
                   if (!filter.status)
                     check.fail("status",
                                "must be queued, running, retrying, "
                                "completed or failed");
                 }
                 if (auto tag = ctx.request().query_param("tag")) {
                   if (tag->empty() || tag->size() > 200)
                     check.fail("tag", "must be 1 to 200 characters");
                   filter.tag = std::string{*tag};
                 }
                 if (!check.ok())
                   return ctx.reply(check.problem());
                 when_reached(
                   ctx, *auth, be->job_list, params.min_position, be->read_wait,
                   [ctx, be, filter, params] {
                     auto position = be->job_list->position();
                     auto page = be->job_list->jobs(filter, params.after,
                                                    params.limit);
                     bool secrets = projections::group_grants(ctx.caller->group,
                                                              "secrets.read");
                     json::array items;
                     for (const auto& row : page.items) {
                       auto item = job_json(row.state.view);
                       item["created_at"] = rfc3339(row.created_us);
                       item["updated_at"] = rfc3339(row.updated_us);
                       if (!secrets)
                         redact_secrets(item["result"]);
                       items.push_back(std::move(item));
                     }
                     ctx.reply(list_response(std::move(items), page.next_after,
                                             position));
                   });
               }),
             {"Jobs in order of queueing, filtered by status or tag",
              "jobs.read", with({"status", "tag"})});
}

/// `GET /api/v1/admin/<kind>s/{id}` (clients, products): from the
/// provisioning projection, once it has applied the log as it was when the
/// request came (or `?min_position=`), so a read after a write sees it.
void add_entity_route(route_table& routes,
                      const std::shared_ptr<const auth_context>& auth,
                      const std::shared_ptr<service_backend>& be,
                      const std::string& kind, const std::string& summary) {
  auto permission = kind + "s.read";
  routes.add("GET", "/api/v1/admin/" + kind + "s/{id}",
             require_admin(
               auth, permission,
               [auth, be, kind](const request_context& ctx) {
                 auto id = id_param(ctx);
                 if (!id)
                   return;
                 json::object none;
                 field_checker check{none};
                 uint64_t min_position = 0;
                 uint_param(ctx, "min_position", min_position, check);
                 if (!check.ok())
                   return ctx.reply(check.problem());
                 auto at = std::max(min_position, be->store->last_position());
                 when_reached(ctx, *auth, be->provisioning, at, be->read_wait,
                              [ctx, be, kind, id = events::to_string(*id)] {
                                auto row = kind == "client"
                                  ? be->provisioning->client(id)
                                  : be->provisioning->product(id);
                                if (!row)
                                  return ctx.reply(problem_response(
                                    404, "No " + kind + " " + id + "."));
                                auto resp = json_response(
                                  200, json::serialize(entity_json(*row)));
                                resp.headers.emplace_back(
                                  "X-Billow-Position",
                                  std::to_string(be->provisioning->position()));
                                ctx.reply(std::move(resp));
                              });
               }),
             {summary, permission, {"min_position"}});
}

} // namespace

std::optional<json::object> product_data_of(const events::event_store& store,
                                            const std::string& id) {
  auto product = fold_entity(store, "product", id);
  if (!product)
    return std::nullopt;
  if (auto* data = product->if_contains("product_data");
      data && data->is_object())
    return data->as_object();
  return json::object{};
}

void add_service_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        service_backend backend) {
  auto be = std::make_shared<service_backend>(std::move(backend));

  // Appends one event through the writer, from the front actor, and answers
  // with `respond(version)`.
  auto append
    = [be](const request_context& ctx, std::string stream, events::new_event ev,
           const std::function<void(const events::append_result&)>& respond) {
        std::vector<events::new_event> batch;
        batch.push_back(std::move(ev));
        ctx.self
          ->request(be->writer, ask_timeout, events::append_atom::value,
                    std::move(stream), events::expected_version::no_stream(),
                    std::move(batch))
          .then(
            [respond](const events::append_result& res) {
              respond(res);
            },
            [ctx](caf::error& err) {
              ctx.reply(error_response(err));
            });
      };

  // -- clients --------------------------------------------------------------
  routes.add(
    "POST", "/api/v1/admin/clients",
    require_admin(
      auth, "clients.write",
      [auth, be, append](const request_context& ctx) {
        json::object body;
        if (auto bad = parse_object_body(ctx.request(), body))
          return ctx.reply(std::move(*bad));
        field_checker check{body};
        check.only({"name", "email", "currency", "password"},
                   {"billing_mode", "credit_limit", "country", "tax_id",
                    "tax_exempt"});
        auto name = check.required_string("name", 200);
        auto email = check.required_string("email", 320);
        auto currency = check.required_string("currency", 3);
        auto password = check.optional_string("password", 1024);
        if (!email.empty() && !is_email(email))
          check.fail("email", "must be an email address");
        if (body.contains("password") && password.size() < 8)
          check.fail("password", "must have at least 8 characters");
        if (!currency.empty())
          if (auto known = billing::require_currency(currency); !known)
            check.fail("currency", detail_of(known.error()));
        if (!check.ok())
          return ctx.reply(check.problem());
        auto ev_id = event_id_for(ctx, "client");
        auto id = events::to_string(ev_id);
        auto stream = "client-" + id;
        auto normalized = projections::normalize_email(email);
        if (!password.empty()) {
          // A client-area login: its email must be free.
          auto other = auth->clients->find_login(normalized);
          if (other && other->id != id)
            return ctx.reply(
              problem_response(409, "Another client logs in with this email.",
                               "/problems/already_exists"));
        }
        // Name and email go into the log encrypted with the client's own
        // key (vault/personal_data.hpp); answers reveal them.
        json::object client{{"name", name},
                            {"email", normalized},
                            {"currency", currency},
                            {"balance", "0.00"},
                            {"login", !password.empty()}};
        if (be->vault.personal)
          if (auto err = vault::seal_fields(*be->vault.personal, stream,
                                            client))
            return ctx.reply(error_response(err));
        events::new_event ev;
        ev.event_id = ev_id;
        ev.type = "client.created";
        ev.schema = 2;
        ev.actor = ctx.caller->actor();
        ev.payload = json::serialize(client);
        auto answer = [ctx, id, client](const events::append_result& res) {
          auto out = client;
          out["id"] = id;
          out["version"] = res.version;
          ctx.reply(created_response(out, res));
        };
        if (password.empty())
          return append(ctx, stream, std::move(ev), answer);
        // The password's Argon2id hash (slow: on the password pool) goes to
        // the credential store before the event that names it.
        run_password_work(*auth, ctx, [ctx, be, stream, password, answer,
                                       ev = std::move(ev)]() mutable {
          if (auto err = be->vault.credentials->put(
                stream, vault::password_kind, ev.event_id,
                hash_password(password)))
            return ctx.reply(error_response(err));
          std::vector<events::new_event> batch;
          batch.push_back(std::move(ev));
          ask_from_anywhere<events::append_result>(
            ctx.self->system(), be->writer, ask_timeout, answer,
            [ctx](caf::error& err) { ctx.reply(error_response(err)); },
            events::append_atom::value, stream,
            events::expected_version::no_stream(), std::move(batch));
        });
      }),
    {"Create a client", "clients.write", {}, true, 201});

  add_entity_route(routes, auth, be, "client", "One client, with its balance");

  // Crypto-shredding (vault/personal_data.hpp): `client.erased` first, then
  // the client's data key and credentials are destroyed; a crash between
  // the two is completed at the next start (vault::open_vault).
  routes.add(
    "POST", "/api/v1/admin/clients/{id}/erase",
    require_admin(
      auth, "clients.erase",
      [auth, be](const request_context& ctx) {
        auto id = id_param(ctx);
        if (!id)
          return;
        json::object body;
        if (auto bad = parse_object_body(ctx.request(), body))
          return ctx.reply(std::move(*bad));
        field_checker check{body};
        check.only({"reason"});
        auto reason = check.required_string("reason", 1000);
        if (!check.ok())
          return ctx.reply(check.problem());
        auto key = events::to_string(*id);
        auto stream = "client-" + key;
        auto client = auth->clients->find_by_id(key);
        if (!client)
          return ctx.reply(problem_response(404, "No client " + key + "."));
        // The client as the projection has it once it applied the erasure
        // (as a GET answers it).
        auto erased_answer = [ctx, auth, be,
                              key](const events::append_result* res) {
          auto at = res != nullptr ? res->last_position
                                   : be->store->last_position();
          when_reached(ctx, *auth, be->provisioning, at, be->read_wait,
                       [ctx, be, key, at] {
                         auto row = be->provisioning->client(key);
                         auto resp = json_response(
                           200, json::serialize(entity_json(*row)));
                         resp.headers.emplace_back("X-Billow-Position",
                                                   std::to_string(at));
                         ctx.reply(std::move(resp));
                       });
        };
        if (client->erased) // a repeated erasure writes nothing
          return auth->run_blocking([erased_answer] {
            erased_answer(nullptr);
          });
        // Its services must all have ended (the provisioning projection,
        // once it has applied the log as it is now).
        when_reached(
          ctx, *auth, be->provisioning, be->store->last_position(),
          be->read_wait, [ctx, auth, be, key, stream, reason, erased_answer] {
            projections::service_filter mine;
            mine.client_id = key;
            auto services = be->provisioning->services(mine, 0, 1'000'000);
            size_t open = std::count_if(
              services.items.begin(), services.items.end(),
              [](const projections::service_row& row) {
                return row.state.status != actors::service_status::terminated
                  && row.state.status != actors::service_status::cancelled;
              });
            if (open > 0)
              return ctx.reply(problem_response(
                409,
                fmt::format("The client has {} service(s) not terminated or "
                            "cancelled; terminate them before erasing.",
                            open),
                "/problems/client_has_active_services"));
            events::new_event ev;
            ev.event_id = event_id_for(ctx, "client.erased");
            ev.type = "client.erased";
            ev.actor = ctx.caller->actor();
            ev.payload = json::serialize(json::object{{"reason", reason}});
            std::vector<events::new_event> batch;
            batch.push_back(std::move(ev));
            ask_from_anywhere<events::append_result>(
              ctx.self->system(), be->writer, ask_timeout,
              [ctx, auth, be, stream,
               erased_answer](const events::append_result& res) {
                // Compacting the key away takes a while: off the scheduler.
                auth->run_blocking([ctx, be, stream, erased_answer, res] {
                  auto failed = be->vault.personal->erase(stream);
                  if (!failed)
                    failed = be->vault.credentials->erase_subject(stream);
                  if (failed)
                    return ctx.reply(error_response(failed));
                  spdlog::info("client {} erased by {}", stream,
                               ctx.caller->actor());
                  erased_answer(&res);
                });
              },
              [ctx](caf::error& err) {
                ctx.reply(error_response(err));
              },
              events::append_atom::value, stream,
              events::expected_version::any(), std::move(batch));
          });
      }),
    {"Erase a client's personal data (crypto-shredding, GDPR art. 17); "
     "refused while it has services not terminated or cancelled",
     "clients.erase",
     {},
     true,
     200,
     "application/json",
     "erase_request",
     "client"});

  // -- products ---------------------------------------------------------------
  routes.add(
    "POST", "/api/v1/admin/products",
    require_admin(
      auth, "products.write",
      [auth, be, append](const request_context& ctx) {
        json::object body;
        if (auto bad = parse_object_body(ctx.request(), body))
          return ctx.reply(std::move(*bad));
        field_checker check{body};
        check.only({"name", "module", "product_data", "prices"},
                   {"hourly_billing", "termination_delay_hours", "taxable"});
        auto name = check.required_string("name", 200);
        std::string module_type, module_name;
        if (auto* m = body.if_contains("module"); m && !m->is_null()) {
          if (!m->is_object()) {
            check.fail("module", "must be an object {type, name}");
          } else {
            module_type = text(m->as_object(), "type");
            module_name = text(m->as_object(), "name");
            if (module_type != "Product")
              check.fail("module.type", "must be Product");
            if (module_name.empty()
                || module_name.find_first_not_of(
                     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
                     "56789_-")
                  != std::string::npos)
              check.fail("module.name",
                         "must be a module name (letters, digits, _ -)");
          }
        }
        json::object product_data;
        if (auto* pd = body.if_contains("product_data"); pd && !pd->is_null()) {
          if (pd->is_object())
            product_data = pd->as_object();
          else
            check.fail("product_data", "must be an object");
        }
        json::array prices;
        if (auto* p = body.if_contains("prices"); p && !p->is_null()) {
          if (!p->is_array()) {
            check.fail("prices", "must be an array");
          } else {
            size_t i = 0;
            for (const auto& price : p->as_array())
              if (auto good = parse_price(
                    price, "prices[" + std::to_string(i++) + "]", check))
                prices.push_back(std::move(*good));
          }
        }
        if (!check.ok())
          return ctx.reply(check.problem());
        // The module checks and normalises its product data (seed's
        // saveProductData), off the actor threads.
        auth->run_blocking([ctx, be, append, name, module_type, module_name,
                            product_data, prices]() mutable {
          json::value module = nullptr;
          if (!module_name.empty()) {
            auto inst = be->catalog->active_instance(module_type, module_name);
            auto* product = dynamic_cast<modules::sdk::product*>(inst.get());
            if (product == nullptr) {
              field_checker check{product_data};
              check.fail("module.name",
                         "no active Product module named " + module_name);
              return ctx.reply(check.problem());
            }
            auto saved = product->save_product_data(product_data);
            if (!saved) {
              field_checker check{product_data};
              check.fail("product_data",
                         detail_of(saved.error()).empty()
                           ? to_string(saved.error())
                           : detail_of(saved.error()));
              return ctx.reply(check.problem());
            }
            product_data = std::move(*saved);
            module = json::object{{"type", module_type}, {"name", module_name}};
          }
          auto ev_id = event_id_for(ctx, "product");
          auto id = events::to_string(ev_id);
          json::object p{{"name", name},
                         {"module", module},
                         {"product_data", product_data},
                         {"prices", prices}};
          events::new_event ev;
          ev.event_id = ev_id;
          ev.type = "product.created";
          ev.actor = ctx.caller->actor();
          ev.payload = json::serialize(p);
          std::vector<events::new_event> batch;
          batch.push_back(std::move(ev));
          ask_from_anywhere<events::append_result>(
            ctx.self->system(), be->writer, ask_timeout,
            [ctx, p, id](const events::append_result& res) {
              auto out = p;
              out["id"] = id;
              out["version"] = res.version;
              ctx.reply(created_response(out, res));
            },
            [ctx](caf::error& err) {
              ctx.reply(error_response(err));
            },
            events::append_atom::value, "product-" + id,
            events::expected_version::no_stream(), std::move(batch));
        });
      }),
    {"Create a product on a Product module", "products.write", {}, true, 201});

  add_entity_route(routes, auth, be, "product", "One product");

  // -- services ---------------------------------------------------------------
  // A read of the service as its actor has it now, answered once the
  // projection holds the actor's version (`answer_service`).
  auto reply_service = [auth, be](const request_context& ctx,
                                  const events::uuid& id) {
    ctx.self->request(be->services, ask_timeout, actors::query_atom::value, id)
      .then(
        [auth, ctx, be](const actors::service_view& v) {
          answer_service(ctx, *auth, be, v);
        },
        [ctx](caf::error& err) {
          ctx.reply(error_response(err));
        });
  };

  routes.add(
    "POST", "/api/v1/admin/services",
    require_admin(
      auth, "services.write",
      [auth, be](const request_context& ctx) {
        json::object body;
        if (auto bad = parse_object_body(ctx.request(), body))
          return ctx.reply(std::move(*bad));
        field_checker check{body};
        check.only({"client_id", "product_id", "period", "provision"});
        auto client_text = check.required_string("client_id", 36);
        auto product_text = check.required_string("product_id", 36);
        auto period = check.optional_string("period", 20);
        auto provision = check.optional_string("provision", 10);
        auto client_id = events::uuid::parse(client_text);
        auto product_id = events::uuid::parse(product_text);
        if (!client_text.empty() && !client_id)
          check.fail("client_id", "must be a UUID");
        if (!product_text.empty() && !product_id)
          check.fail("product_id", "must be a UUID");
        if (!provision.empty() && provision != "now")
          check.fail("provision", "must be \"now\" when given");
        if (!check.ok())
          return ctx.reply(check.problem());
        auth->run_blocking([ctx, be, client_id = *client_id,
                            product_id = *product_id, provision] {
          auto product = fold_entity(*be->store, "product",
                                     events::to_string(product_id));
          json::object none;
          field_checker check{none};
          auto client = fold_entity(*be->store, "client",
                                    events::to_string(client_id));
          if (!client)
            check.fail("client_id", "no such client");
          else if (client->contains("erased"))
            check.fail("client_id", "the client has been erased");
          if (!product)
            check.fail("product_id", "no such product");
          if (!check.ok())
            return ctx.reply(check.problem());
          actors::open_service cmd;
          cmd.client_id = client_id;
          cmd.product_id = product_id;
          if (auto* m = product->if_contains("module"); m && m->is_object())
            cmd.module = text(m->as_object(), "type") + "/"
              + text(m->as_object(), "name");
          cmd.actor = ctx.caller->actor();
          cmd.idempotency_key = idempotency_key(ctx);
          auto id = cmd.idempotency_key.empty() ? events::uuid::random()
                                                : event_id_for(ctx, "service");
          // Open, then (provision now) create, then read it back: one
          // short-lived actor makes the three requests in turn, so no
          // thread waits for them.
          actors::service_command create;
          create.op = actors::service_op::create;
          create.actor = cmd.actor;
          create.idempotency_key = cmd.idempotency_key.empty()
            ? std::string{}
            : cmd.idempotency_key + "/create";
          bool now = provision == "now";
          ctx.self->system().spawn(
            [ctx, be, id, cmd, create, now](caf::event_based_actor* self) {
              auto fail = [ctx](caf::error& err) {
                ctx.reply(error_response(err));
              };
              auto answer = [self, ctx, be, id, fail](events::uuid job) {
                self
                  ->request(be->services, ask_timeout,
                            actors::query_atom::value, id)
                  .then(
                    [ctx, be, job](const actors::service_view& v) {
                      ctx.reply(service_response(ctx, v, *be, 201, job));
                    },
                    fail);
              };
              self
                ->request(be->services, ask_timeout,
                          actors::svc_open_atom::value, id, cmd)
                .then(
                  [self, be, id, create, now, answer,
                   fail](const actors::command_result&) {
                    if (!now)
                      return answer({});
                    self
                      ->request(be->services, ask_timeout,
                                actors::svc_cmd_atom::value, id, create)
                      .then(
                        [answer](const actors::command_result& r) {
                          answer(r.job_id);
                        },
                        fail);
                  },
                  fail);
            });
        });
      }),
    {"Order a service (pending); \"provision\": \"now\" creates it at once",
     "services.write",
     {},
     true,
     201});

  routes.add(
    "GET", "/api/v1/admin/services/{id}",
    require_admin(
      auth, "services.read",
      [auth, be, reply_service](const request_context& ctx) {
        auto id = id_param(ctx);
        if (!id)
          return;
        json::object none;
        field_checker check{none};
        uint64_t min_position = 0;
        uint_param(ctx, "min_position", min_position, check);
        if (!check.ok())
          return ctx.reply(check.problem());
        if (auto resp = service_response_from_projection(ctx, *be, *id,
                                                         min_position))
          return ctx.reply(std::move(*resp));
        if (!be->provisioning || be->provisioning->position() >= min_position)
          return reply_service(ctx, *id);
        // Once the projection is there (the wait holds no thread), from an
        // I/O thread: the projection answers if it can, else the actor.
        when_reached(ctx, *auth, be->provisioning, min_position, be->read_wait,
                     [ctx, auth, be, id = *id, min_position] {
                       if (auto resp = service_response_from_projection(
                             ctx, *be, id, min_position))
                         return ctx.reply(std::move(*resp));
                       ask_from_anywhere<actors::service_view>(
                         ctx.self->system(), be->services, ask_timeout,
                         [ctx, auth, be](const actors::service_view& v) {
                           answer_service(ctx, *auth, be, v);
                         },
                         [ctx](caf::error& err) {
                           ctx.reply(error_response(err));
                         },
                         actors::query_atom::value, id);
                     });
      }),
    {"One service with its status, provision status, service data and "
     "version",
     "services.read",
     {"min_position"}});

  routes.add(
    "POST", "/api/v1/admin/services/{id}/{operation}",
    require_admin(
      auth, "services.write",
      [be](const request_context& ctx) {
        auto id = id_param(ctx);
        if (!id)
          return;
        auto op = parse_op(ctx.params.at("operation"));
        if (!op || *op == actors::service_op::none)
          return ctx.reply(problem_response(
            404,
            "No operation " + ctx.params.at("operation")
              + " (create, suspend, unsuspend, terminate, change_package, "
                "cancel)."));
        json::object body;
        if (!ctx.request().body.empty())
          if (auto bad = parse_object_body(ctx.request(), body))
            return ctx.reply(std::move(*bad));
        field_checker check{body};
        actors::service_command cmd;
        cmd.op = *op;
        cmd.reason = check.optional_string("reason", 1000);
        cmd.actor = ctx.caller->actor();
        cmd.idempotency_key = idempotency_key(ctx);
        if (*op == actors::service_op::change_package) {
          auto product
            = events::uuid::parse(check.required_string("product_id", 36));
          if (!product)
            check.fail("product_id", "must be the UUID of the new product");
          else
            cmd.product_id = *product;
        }
        if (auto if_match = ctx.request().header("If-Match")) {
          std::string_view v = *if_match;
          if (!v.empty() && v.front() == '"' && v.back() == '"'
              && v.size() >= 2)
            v = v.substr(1, v.size() - 2);
          uint64_t version = 0;
          auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(),
                                           version);
          if (ec != std::errc{} || ptr != v.data() + v.size())
            check.fail("If-Match", "must be the service's version number");
          else
            cmd.expected_version = static_cast<int64_t>(version);
        }
        if (!check.ok())
          return ctx.reply(check.problem());
        // One round trip: the command's answer carries the service as the
        // command left it (the data from the projection, without waiting:
        // the command does not change it, its job's result will).
        ask_for<actors::service_command_reply>(
          ctx, be->services,
          [be](const request_context& ctx,
               const actors::service_command_reply& r) {
            const auto& job = r.result.job_id;
            ctx.reply(service_response(ctx, r.view, *be,
                                       job.is_nil() ? 200 : 202, job));
          },
          actors::svc_cmd_view_atom::value, *id, std::move(cmd));
      }),
    {"Run a lifecycle operation; 202 with the job id when the module works "
     "asynchronously, 409 when the state forbids it, 412 when If-Match is "
     "stale",
     "services.write",
     {},
     true,
     202});

  if (be->provisioning && be->job_list)
    add_list_routes(routes, auth, be);

  // -- jobs -------------------------------------------------------------------
  routes.add(
    "GET", "/api/v1/admin/jobs/{id}",
    require_admin(
      auth, "jobs.read",
      [be](const request_context& ctx) {
        auto id = id_param(ctx);
        if (!id)
          return;
        ctx.self
          ->request(be->jobs, ask_timeout, actors::job_get_atom::value, *id)
          .then(
            [ctx](const actors::job_view& v) {
              // The result may hold service data.
              json::value out = job_json(v);
              if (!projections::group_grants(ctx.caller->group, "secrets.read"))
                redact_secrets(out.as_object()["result"]);
              ctx.reply(json_response(200, json::serialize(out)));
            },
            [ctx](caf::error& err) {
              ctx.reply(error_response(err));
            });
      }),
    {"One job: attempts with their errors, result", "jobs.read"});

  routes.add("POST", "/api/v1/admin/jobs/{id}/retry",
             require_admin(auth, "jobs.write",
                           [be](const request_context& ctx) {
                             auto id = id_param(ctx);
                             if (!id)
                               return;
                             ctx.self
                               ->request(be->jobs, ask_timeout,
                                         actors::job_retry_atom::value, *id,
                                         ctx.caller->actor())
                               .then(
                                 [ctx](const actors::job_view& v) {
                                   ctx.reply(json_response(
                                     202, json::serialize(job_json(v))));
                                 },
                                 [ctx](caf::error& err) {
                                   ctx.reply(error_response(err));
                                 });
                           }),
             {"Queue a failed job again", "jobs.write", {}, false, 202});

  // -- the manual clock -----------------------------------------------------
  routes.add(
    "POST", "/api/v1/admin/clock/advance",
    require_admin(
      auth, "clock.write",
      [be](const request_context& ctx) {
        if (!be->clock->is_manual())
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
          check.fail("seconds",
                     "must be a positive integer (at most ten years)");
          return ctx.reply(check.problem());
        }
        actors::advance_clock(*be->clock, std::chrono::seconds(s->as_int64()));
        ctx.reply(json_response(200,
                                json::serialize(json::object{
                                  {"now", rfc3339(be->clock->now_us())}})));
      }),
    {"Move the manual clock forward (only with --clock=manual)",
     "clock.write",
     {},
     true});
}

} // namespace billow::api
