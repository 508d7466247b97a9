#pragma once

// What every route family shares (docs/extending.md, "A route family"), so
// that no family keeps its own copy in an anonymous namespace:
//
//   the table      named_route, add_named_routes: a family registers a table
//                  of named handlers; each route's permission is written
//                  once, in its doc, and guards it
//   parsing        id_param (path), uint_param, uuid_param, parse_enum,
//                  parse_list_params, min_position_param, parse_one_read
//                  (query),
//                  parse_optional_object_body (body), idempotency_key,
//                  if_match_version (headers), event_id_for
//   asking         ask_for (from the front actor), ask_for_anywhere (from
//                  any thread), append_event (a stream without an aggregate)
//   reading        when_reached / not_reached: wait, holding no thread, for
//                  a read model to reach `?min_position=`
//   answering      json_at, list_response (with
//                  `X-Billow-Position`), shows_secrets, or_null,
//                  entity_json
//
// A handler parses, sends one message and maps the reply:
//
//   void suspend_invoice(const request_context& ctx, const billing_env& env) {
//     auto id = id_param(ctx);                          // 404 when no UUID
//     if (!id)
//       return;
//     json::object body;
//     if (auto bad = parse_optional_object_body(ctx.request(), body))
//       return ctx.reply(std::move(*bad));              // 400 / 422
//     field_checker check{body};
//     check.only({"reason"});                           // 422 naming others
//     ... cmd.idempotency_key = idempotency_key(ctx);
//     if (auto v = if_match_version(ctx, check, "invoice"))
//       cmd.expected_version = static_cast<int64_t>(*v);
//     if (!check.ok())
//       return ctx.reply(check.problem());
//     ask_for<reply_type>(ctx, env.be->invoices, map_the_reply, atom, *id,
//     cmd);
//   }

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <caf/event_based_actor.hpp>

#include "api/ask.hpp"
#include "api/auth.hpp"
#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "api/pending_answers.hpp"
#include "api/router.hpp"
#include "events/envelope.hpp"
#include "events/writer.hpp"
#include "projections/position_gate.hpp"
#include "projections/projection.hpp"

namespace billow::projections {
struct entity_row;
} // namespace billow::projections

namespace billow::api {

/// How long an actor has to answer a request of a route (then 504, or for
/// `ask_for_anywhere` CAF's timeout error).
inline constexpr auto ask_timeout = std::chrono::seconds(30);

// -- the table of a family ----------------------------------------------------

/// The permission of the client-area routes: a client token
/// (`require_client`) instead of an admin permission.
inline constexpr std::string_view client_area = "client";

/// One route of a family's table. `Env` is what the family's handlers share
/// (it has an `auth` member, a `std::shared_ptr<const auth_context>`, and
/// usually the family's backend); handlers copy it into their continuations,
/// so it holds shared pointers.
template <class Env>
struct named_route {
  std::string method;
  std::string pattern;
  /// A function named for what the route does (`create_product`, ...).
  void (*handler)(const request_context& ctx, const Env& env);
  /// What the OpenAPI document says. `doc.permission` is also what guards
  /// the route: an admin permission (`require_admin`), or `client_area`
  /// (`require_client`). It must not be empty: public routes are added
  /// with `route_table::add`.
  route_doc doc;
};

/// `inner` behind `permission`: `require_client` for `client_area`, else
/// `require_admin`. Throws `std::logic_error` for an empty permission (a
/// table that forgot one must not serve the route to anyone).
route_handler guarded(const std::shared_ptr<const auth_context>& auth,
                      const std::string& permission, route_handler inner);

/// Adds every route of `table`, in order (the order routes are matched and
/// documented in), each guarded by its doc's permission.
template <class Env>
void add_named_routes(route_table& routes, const Env& env,
                      std::vector<named_route<Env>> table) {
  for (auto& r : table) {
    route_handler inner = [env, fn = r.handler](const request_context& ctx) {
      fn(ctx, env);
    };
    auto permission = r.doc.permission;
    routes.add(std::move(r.method), std::move(r.pattern),
               guarded(env.auth, permission, std::move(inner)),
               std::move(r.doc));
  }
}

// -- parsing ------------------------------------------------------------------

/// The UUID of path parameter `name`; none after answering 404 (an id that
/// cannot exist) when it is not one.
std::optional<events::uuid> id_param(const request_context& ctx,
                                     const char* name = "id");

/// A checker for query parameters: a body without fields, so only `fail`
/// records anything.
field_checker query_checker();

/// The unsigned query parameter `name` into `out` (left as it is when
/// absent); a field error in `check` when it is not a non-negative integer.
void uint_param(const request_context& ctx, std::string_view name,
                uint64_t& out, field_checker& check);

/// The UUID of query parameter `name`, normalized; empty when absent, and a
/// field error in `check` when it is not a UUID.
std::string uuid_param(const request_context& ctx, std::string_view name,
                       field_checker& check);

/// The value of `all` whose `to_string` is `text`, if any (a status filter).
template <class Enum, size_t N>
std::optional<Enum> parse_enum(std::string_view text, const Enum (&all)[N]) {
  for (auto x : all)
    if (text == to_string(x))
      return x;
  return std::nullopt;
}

/// `?min_position=N` of a read: N (0 when absent), or none after answering
/// 422 when it is not a non-negative integer.
std::optional<uint64_t> min_position_param(const request_context& ctx);

/// What a GET of one resource names: its `{id}` and `?min_position=`.
struct one_read {
  events::uuid id;
  uint64_t min_position = 0;
};

/// The `{id}` and `?min_position=` of a GET of one resource; none after
/// answering 404 (`id_param`) or 422 (`min_position_param`).
std::optional<one_read> parse_one_read(const request_context& ctx);

/// `?limit=&cursor=&min_position=` of a list.
struct list_params {
  /// The list position to continue after (from the cursor; 0: from the
  /// start).
  uint64_t after = 0;
  /// 1 to 1000, 50 when absent.
  size_t limit = 50;
  uint64_t min_position = 0;
};

/// The list parameters of the request; field errors in `check` for a limit
/// out of range, a cursor this server did not write, a bad min_position.
list_params parse_list_params(const request_context& ctx, field_checker& check);

/// The query parameters a list documents: `more`, then `limit`, `cursor`,
/// `min_position` (for `route_doc::query`).
std::vector<std::string> list_query(std::vector<std::string> more = {});

/// As `parse_object_body`, but an empty body is an empty object (commands
/// whose fields are all optional).
std::optional<http_response>
parse_optional_object_body(const http_request& req, boost::json::object& out);

/// `Idempotency-Key` (its first 200 characters), or empty. Pass it to the
/// aggregate's command so a retry appends nothing new.
std::string idempotency_key(const request_context& ctx);

/// An event id derived from the caller, `stream_kind` and the request's
/// `Idempotency-Key` (random without one), so a retried request appends
/// nothing new (the store answers the first positions). For handlers that
/// append themselves; aggregates derive their own.
events::uuid event_id_for(const request_context& ctx,
                          const std::string& stream_kind);

/// `If-Match: <version>` (quoted or not): the version, or none when the
/// header is absent; a field error on `If-Match` ("must be the <what>'s
/// version number") when it is not a version.
std::optional<uint64_t> if_match_version(const request_context& ctx,
                                         field_checker& check,
                                         std::string_view what);

// -- asking -------------------------------------------------------------------

/// From the front actor (a handler, or a continuation on it): asks `dest`
/// with `xs...` and runs `on_reply(ctx, reply)`, or answers the error
/// (`error_response`); 504 when there is no reply within `ask_timeout`. The
/// request waits in the front's pending answers, not in a CAF timeout.
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

/// As `ask_for`, from any thread (a blocking-pool task, a read wait): a
/// short-lived actor asks (within `ask_timeout`) and runs
/// `on_reply(ctx, reply)` or answers the error.
template <class Reply, class Dest, class OnReply, class... Ts>
void ask_for_anywhere(const request_context& ctx, const Dest& dest,
                      OnReply on_reply, Ts... xs) {
  ask_from_anywhere<Reply>(
    ctx.self->system(), dest, ask_timeout,
    [ctx, on_reply](const Reply& r) {
      on_reply(ctx, r);
    },
    [ctx](caf::error& err) {
      ctx.reply(error_response(err));
    },
    std::move(xs)...);
}

/// Appends `ev` to `stream` through the writer, from any thread, and runs
/// `on_appended(result)` once it is durable, or answers the error. Only for
/// streams no aggregate owns (the billing settings and tax rules); an
/// aggregate's events are its actor's to append.
void append_event(
  const request_context& ctx, const events::writer_actor& writer,
  std::string stream, events::expected_version expected, events::new_event ev,
  std::function<void(const events::append_result&)> on_appended);

// -- reading ------------------------------------------------------------------

/// The position gate of `proj`, kept alive with it.
std::shared_ptr<const projections::position_gate>
gate_of(const std::shared_ptr<const projections::projection>& proj);

/// 504: `proj` did not reach `min_position` within `wait`.
http_response not_reached(const projections::projection& proj,
                          uint64_t min_position,
                          std::chrono::milliseconds wait);

/// Runs `answer` once `proj` reached `min_position`: at once when it has,
/// else on an I/O thread once it gets there, the wait holding no thread
/// (read_waits.hpp); answers `not_reached` when it does not get there
/// within `wait`.
void when_reached(const request_context& ctx, const auth_context& auth,
                  const std::shared_ptr<const projections::projection>& proj,
                  uint64_t min_position, std::chrono::milliseconds wait,
                  std::function<void()> answer);

// -- answering ----------------------------------------------------------------

/// Adds `X-Billow-Position: position` (the log position the answer reflects).
void add_position(http_response& resp, uint64_t position);

/// A JSON answer with the log position it reflects.
http_response json_at(unsigned status, const boost::json::value& body,
                      uint64_t position);

/// A page of a list: `{"items", "next_cursor"}` (an opaque cursor to pass
/// back as `?cursor=`, null on the last page) with the position it reflects.
http_response list_response(boost::json::array items,
                            std::optional<uint64_t> next_after,
                            uint64_t position);

/// Whether the caller is an admin whose group may see secrets in answers
/// (`secrets.read`); otherwise answers redact them (redaction.hpp).
bool shows_secrets(const request_context& ctx);

/// `text` as a JSON string, or null when it is empty (an optional field of
/// an answer).
boost::json::value or_null(std::string_view text);

/// The string `key` of `obj`, or empty.
std::string string_field(const boost::json::object& obj, std::string_view key);

/// A client or product as the provisioning projection holds it: its fields,
/// `id`, `version`, `created_at`, `updated_at`.
boost::json::object entity_json(const projections::entity_row& row);

} // namespace billow::api
