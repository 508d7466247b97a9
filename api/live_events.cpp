#include "api/live_events.hpp"

#include <charconv>
#include <chrono>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "api/answers.hpp"
#include "api/audit_routes.hpp"
#include "api/problem.hpp"
#include "events/subscription.hpp"
#include "projections/admin_directory.hpp"

namespace billow::api {

namespace {

/// A write to the client finished (true) or failed (false).
using sse_written_atom = caf::atom_constant<caf::atom("sseWritten")>;
/// Time to send the keep-alive comment.
using sse_ping_atom = caf::atom_constant<caf::atom("ssePing")>;

constexpr auto ping_interval = std::chrono::seconds(15);

using sse_actor
  = events::subscriber_actor::extend<caf::reacts_to<sse_written_atom, bool>,
                                     caf::reacts_to<sse_ping_atom>>;

struct sse_state {
  std::shared_ptr<body_stream> out;
  bool show_secrets = false;
  /// The answers' serializer: secrets out, personal values revealed.
  std::shared_ptr<const answer_filter> answers;
  /// The subscription's page waiting for its write to finish.
  caf::typed_response_promise<bool> pending;
  bool waiting = false;
  static constexpr const char* name = "sse";
};

sse_actor::behavior_type
sse_writer(sse_actor::stateful_pointer<sse_state> self,
           std::shared_ptr<body_stream> out, bool show_secrets,
           std::shared_ptr<const answer_filter> answers,
           const events::writer_actor& writer) {
  self->state.out = std::move(out);
  self->state.show_secrets = show_secrets;
  self->state.answers = std::move(answers);
  // The writer's exit (server shutdown) ends every live stream.
  self->link_to(writer);
  self->delayed_send(self, ping_interval, sse_ping_atom::value);
  auto me = caf::actor_cast<caf::actor>(self);
  auto notify = [me](bool sent) {
    caf::anon_send(me, sse_written_atom::value, sent);
  };
  return {
    [=](events::deliver_atom,
        const std::vector<events::envelope>& page) -> caf::result<bool> {
      std::string chunk;
      for (const auto& ev : page) {
        boost::json::value data = envelope_json(ev, self->state.show_secrets);
        if (self->state.answers)
          self->state.answers->apply(data);
        else
          drop_secret_fields(data);
        chunk += "id: " + std::to_string(ev.position) + "\nevent: " + ev.type
          + "\ndata: " + boost::json::serialize(data) + "\n\n";
      }
      self->state.waiting = true;
      self->state.pending = self->make_response_promise<bool>();
      self->state.out->write(std::move(chunk), notify);
      return self->state.pending;
    },
    [=](sse_written_atom, bool sent) {
      if (self->state.waiting) {
        self->state.waiting = false;
        self->state.pending.deliver(sent);
      }
      if (!sent)
        self->quit();
    },
    [=](sse_ping_atom) {
      self->state.out->write(": ping\n\n", [me](bool sent) {
        if (!sent)
          caf::anon_send_exit(me, caf::exit_reason::user_shutdown);
      });
      self->delayed_send(self, ping_interval, sse_ping_atom::value);
    },
  };
}

bool parse_position(std::string_view text, uint64_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

} // namespace

void add_live_events_route(route_table& routes,
                           const std::shared_ptr<const auth_context>& auth,
                           events::event_store& store,
                           const events::writer_actor& writer,
                           std::shared_ptr<const answer_filter> answers) {
  auto* db = &store;
  routes.add(
    "GET", "/api/v1/admin/events/live",
    require_admin(
      auth, "events.read",
      [db, writer, answers](const request_context& ctx) {
        uint64_t after = db->last_position();
        auto resume = ctx.request().header("Last-Event-ID");
        auto given = resume ? resume : ctx.request().query_param("after");
        if (given && !parse_position(*given, after)) {
          ctx.reply(problem_response(422,
                                     "after (or Last-Event-ID) must be a "
                                     "log position"));
          return;
        }
        bool secrets = projections::group_grants(ctx.caller->group,
                                                 "secrets.read");
        auto* sys = &ctx.self->system();
        http_response resp;
        resp.content_type = "text/event-stream";
        resp.on_stream = [sys, db, writer, after, secrets,
                          answers](std::shared_ptr<body_stream> out) {
          auto sse = sys->spawn(sse_writer, std::move(out), secrets, answers,
                                writer);
          events::subscription_options opts;
          opts.from_position = after + 1;
          opts.page_size = 256;
          events::subscribe(*sys, *db, writer, sse, opts);
        };
        ctx.reply(std::move(resp));
      }),
    {"Committed events as server-sent events, from ?after= or Last-Event-ID "
     "(default: from now on)",
     "events.read",
     {"after"},
     false,
     200,
     "text/event-stream"});
}

} // namespace billow::api
