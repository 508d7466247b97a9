#include "api/front.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include "api/errors.hpp"
#include "api/pending_answers.hpp"
#include "api/problem.hpp"
#include "events/errc.hpp"

namespace billow::api {

void dispatch(caf::event_based_actor* self, const route_table& routes,
              const exchange_ptr& ex, pending_answers& pending) {
  const auto& req = ex->request();
  auto found = routes.match(req.method, req.path);
  if (found.handler == nullptr) {
    http_response resp;
    if (found.allowed.empty()) {
      resp = problem_response(404, "No resource at " + req.path + ".");
      resp.route = "unmatched";
    } else {
      std::string allow;
      for (const auto& m : found.allowed)
        allow += (allow.empty() ? "" : ", ") + m;
      resp = problem_response(405,
                              req.method + " is not allowed on " + req.path
                                + "; allowed: " + allow + ".");
      resp.headers.emplace_back("Allow", allow);
      resp.route = "method_not_allowed";
    }
    ex->reply(std::move(resp));
    return;
  }
  request_context ctx{self, ex, std::move(found.params),
                      std::move(found.pattern)};
  ctx.pending = &pending;
  try {
    (*found.handler)(ctx);
  } catch (const std::exception& e) {
    spdlog::error("handler for {} {} threw: {}", req.method, ctx.route,
                  e.what());
    ctx.reply(
      problem_response(500, "The server failed to answer this request."));
  }
}

namespace {

/// Front -> itself: answer the pending requests past their deadline.
using sweep_answers_atom = caf::atom_constant<caf::atom("ans_sweep")>;

constexpr auto sweep_interval = std::chrono::seconds(1);

struct front_state {
  // Declared: CAF would otherwise build this aggregate from the actor
  // pointer (see docs/architecture.md, CAF traps).
  front_state() = default;

  static inline const char* name = "billow.front";
  pending_answers pending;
  /// Whether a sweep is on its way.
  bool sweep_armed = false;
};

using front_ptr = caf::stateful_actor<front_state>*;

void arm_sweep(front_ptr self) {
  auto& st = self->state;
  if (st.sweep_armed || st.pending.empty())
    return;
  st.sweep_armed = true;
  self->delayed_send(self, sweep_interval, sweep_answers_atom::value);
}

/// The front actor's behavior. The routes come in as a spawn argument, not a
/// lambda capture: CAF 0.17.6 dereferences a null tuple pointer when a
/// function-based actor is spawned without arguments (UBSan reports it).
caf::behavior front(front_ptr self, std::shared_ptr<const route_table> routes) {
  self->state.pending.on_add([self] {
    arm_sweep(self);
  });
  return {
    [self, routes = std::move(routes)](const exchange_ptr& ex) {
      dispatch(self, *routes, ex, self->state.pending);
    },
    [self](sweep_answers_atom) {
      self->state.sweep_armed = false;
      auto late = self->state.pending.expire(pending_answers::clock::now());
      for (auto& ctx : late)
        ctx.reply(error_response(make_error(
          billow_errc::timeout, "No answer from the actor in time.")));
      arm_sweep(self);
    },
  };
}

} // namespace

caf::actor spawn_front(caf::actor_system& sys,
                       std::shared_ptr<const route_table> routes) {
  return sys.spawn(front, std::move(routes));
}

} // namespace billow::api
