#include "api/audit_routes.hpp"

#include <charconv>

#include <boost/json.hpp>
#include <sodium.h>

#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "api/problem.hpp"
#include "api/redaction.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/validation.hpp"
#include "projections/admin_directory.hpp"
#include "projections/state_at.hpp"

namespace billow::api {

namespace {

std::string hex(const events::hash256& h) {
  std::string out(h.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), h.data(), h.size());
  out.pop_back();
  return out;
}

/// Parses an unsigned query parameter; false (and a problem) when present
/// but not a number.
bool number_param(const request_context& ctx, std::string_view name,
                  uint64_t& out, field_checker& check) {
  auto text = ctx.request().query_param(name);
  if (!text)
    return true;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(),
                                   out);
  if (ec != std::errc{} || ptr != text->data() + text->size()) {
    check.fail(std::string{name}, "must be a non-negative integer");
    return false;
  }
  return true;
}

http_response storage_problem(const caf::error& err) {
  return problem_response(
    errc_of(err) == billow_errc::invalid_argument ? 422 : 500,
    detail_of(err).empty() ? to_string(err) : detail_of(err));
}

} // namespace

boost::json::object envelope_json(const events::envelope& ev,
                                  bool show_secrets) {
  auto out = envelope_json(ev);
  if (!show_secrets)
    redact_secrets(out["payload"]);
  return out;
}

std::optional<projections::point_in_log>
parse_point_in_log(std::string_view text) {
  projections::point_in_log at;
  uint64_t pos = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), pos);
  if (ec == std::errc{} && ptr == text.data() + text.size())
    at.position = pos;
  else
    at.time_us = parse_rfc3339(text);
  if (!at.position && !at.time_us)
    return std::nullopt;
  return at;
}

boost::json::object envelope_json(const events::envelope& ev) {
  boost::json::object out;
  out["position"] = ev.position;
  out["stream"] = ev.stream;
  out["version"] = ev.version;
  out["type"] = ev.type;
  out["schema"] = ev.schema;
  out["event_id"] = events::to_string(ev.event_id);
  out["time"] = rfc3339(ev.time_us);
  out["actor"] = ev.actor;
  out["causation_id"] = ev.causation_id.is_nil()
    ? boost::json::value(nullptr)
    : boost::json::value(events::to_string(ev.causation_id));
  out["correlation_id"] = ev.correlation_id.is_nil()
    ? boost::json::value(nullptr)
    : boost::json::value(events::to_string(ev.correlation_id));
  out["prev_hash"] = hex(ev.prev_hash);
  out["hash"] = hex(ev.hash);
  boost::system::error_code ec;
  auto payload = boost::json::parse(ev.payload, ec);
  out["payload"] = ec ? boost::json::value(ev.payload) : std::move(payload);
  return out;
}

void add_audit_routes(route_table& routes,
                      const std::shared_ptr<const auth_context>& auth,
                      events::event_store& store) {
  auto* db = &store;

  routes.add("GET", "/api/v1/admin/events",
             require_admin(
               auth, "events.read",
               [auth, db](const request_context& ctx) {
                 boost::json::object none;
                 field_checker check{none};
                 events::log_query q;
                 uint64_t after = 0, limit = 100, cursor = 0;
                 number_param(ctx, "after", after, check);
                 number_param(ctx, "cursor", cursor, check);
                 number_param(ctx, "limit", limit, check);
                 if (limit == 0 || limit > 1000)
                   check.fail("limit", "must be between 1 and 1000");
                 q.from_position = std::max(after + 1, cursor);
                 q.limit = limit;
                 const auto& req = ctx.request();
                 std::string exact_stream;
                 if (auto s = req.query_param("stream")) {
                   exact_stream = std::string{*s};
                   q.stream_prefix = exact_stream;
                 }
                 if (auto s = req.query_param("stream_prefix"))
                   q.stream_prefix = std::string{*s};
                 if (auto s = req.query_param("type"))
                   q.type = std::string{*s};
                 if (auto s = req.query_param("actor"))
                   q.actor = std::string{*s};
                 if (auto s = req.query_param("correlation_id")) {
                   q.correlation_id = events::uuid::parse(*s);
                   if (!q.correlation_id)
                     check.fail("correlation_id", "must be a UUID");
                 }
                 for (auto [name, dst] : {std::pair{"from", &q.time_from_us},
                                          std::pair{"to", &q.time_to_us}}) {
                   if (auto s = req.query_param(name)) {
                     *dst = parse_rfc3339(*s);
                     if (!*dst)
                       check.fail(name, "must be an RFC 3339 time");
                   }
                 }
                 if (!check.ok()) {
                   ctx.reply(check.problem());
                   return;
                 }
                 bool secrets = projections::group_grants(ctx.caller->group,
                                                          "secrets.read");
                 auth->run_blocking([ctx, db, q, exact_stream, secrets] {
                   auto page = db->query(q);
                   if (!page) {
                     ctx.reply(storage_problem(page.error()));
                     return;
                   }
                   boost::json::array items;
                   for (const auto& ev : page->events)
                     if (exact_stream.empty() || ev.stream == exact_stream)
                       items.push_back(envelope_json(ev, secrets));
                   boost::json::object out;
                   out["items"] = std::move(items);
                   out["next_cursor"] = page->next_cursor
                     ? boost::json::value(std::to_string(*page->next_cursor))
                     : boost::json::value(nullptr);
                   // Where the log ends now: `billow events tail` starts
                   // from it, a client can wait for it with min_position.
                   out["last_position"] = db->last_position();
                   ctx.reply(json_response(200, boost::json::serialize(out)));
                 });
               }),
             {"The log's events, filtered, in log order",
              "events.read",
              {"stream", "stream_prefix", "type", "actor", "correlation_id",
               "from", "to", "after", "cursor", "limit"}});

  routes.add(
    "GET", "/api/v1/admin/streams/{stream}",
    require_admin(
      auth, "events.read",
      [auth, db](const request_context& ctx) {
        auto stream = ctx.params.at("stream");
        boost::json::object none;
        field_checker check{none};
        if (auto err = events::validate_stream_id(stream))
          check.fail("stream",
                     detail_of(err).empty() ? "is not a valid stream id"
                                            : detail_of(err));
        uint64_t from_version = 1, limit = 100, cursor = 0;
        number_param(ctx, "from_version", from_version, check);
        number_param(ctx, "cursor", cursor, check);
        number_param(ctx, "limit", limit, check);
        if (limit == 0 || limit > 1000)
          check.fail("limit", "must be between 1 and 1000");
        if (!check.ok()) {
          ctx.reply(check.problem());
          return;
        }
        from_version = std::max<uint64_t>({from_version, cursor, 1});
        bool secrets = projections::group_grants(ctx.caller->group,
                                                 "secrets.read");
        auth->run_blocking([ctx, db, stream, from_version, limit, secrets] {
          auto version = db->stream_version(stream);
          if (!version) {
            ctx.reply(storage_problem(version.error()));
            return;
          }
          if (*version == 0) {
            ctx.reply(problem_response(
              404, "The stream " + stream + " has no events."));
            return;
          }
          auto evs = db->read_stream(stream, from_version,
                                     events::read_direction::forward, limit);
          if (!evs) {
            ctx.reply(storage_problem(evs.error()));
            return;
          }
          boost::json::array items;
          for (const auto& ev : *evs)
            items.push_back(envelope_json(ev, secrets));
          auto next = from_version + evs->size();
          boost::json::object out;
          out["stream"] = stream;
          out["version"] = *version;
          out["items"] = std::move(items);
          out["next_cursor"] = next <= *version
            ? boost::json::value(std::to_string(next))
            : boost::json::value(nullptr);
          ctx.reply(json_response(200, boost::json::serialize(out)));
        });
      }),
    {"One stream's events in version order",
     "events.read",
     {"from_version", "cursor", "limit"}});

  routes.add(
    "GET", "/api/v1/admin/streams/{stream}/state",
    require_admin(auth, "events.read",
                  [auth, db](const request_context& ctx) {
                    auto stream = ctx.params.at("stream");
                    projections::point_in_log at;
                    if (auto text = ctx.request().query_param("at")) {
                      auto parsed = parse_point_in_log(*text);
                      if (!parsed) {
                        boost::json::object none;
                        field_checker check{none};
                        check.fail(
                          "at", "must be a log position or an RFC 3339 time");
                        ctx.reply(check.problem());
                        return;
                      }
                      at = *parsed;
                    }
                    bool secrets = projections::group_grants(ctx.caller->group,
                                                             "secrets.read");
                    auth->run_blocking([ctx, db, stream, at, secrets] {
                      auto state = projections::state_at(*db, stream, at);
                      if (!state) {
                        ctx.reply(error_response(state.error()));
                        return;
                      }
                      boost::json::value v = std::move(*state);
                      if (!secrets)
                        redact_secrets(v.as_object()["state"]);
                      ctx.reply(json_response(200, boost::json::serialize(v)));
                    });
                  }),
    {"The stream's aggregate as it was at ?at= (a log position or an RFC 3339 "
     "time; default: now)",
     "events.read",
     {"at"}});

  routes.add(
    "GET", "/api/v1/admin/audit/verify",
    require_admin(auth, "audit.read",
                  [auth, db](const request_context& ctx) {
                    auth->run_blocking([ctx, db] {
                      auto report = db->verify(1, db->last_position());
                      if (!report) {
                        ctx.reply(storage_problem(report.error()));
                        return;
                      }
                      boost::json::object out;
                      out["ok"] = report->ok();
                      out["checked"] = report->checked;
                      if (report->first_bad) {
                        out["first_bad_position"] = *report->first_bad;
                        out["problem"] = report->problem;
                      }
                      ctx.reply(
                        json_response(200, boost::json::serialize(out)));
                    });
                  }),
    {"Walk the hash chain: {ok, checked, first_bad_position?}", "audit.read"});
}

} // namespace billow::api
