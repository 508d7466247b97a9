#include "api/front.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "api/errors.hpp"
#include "api/io_execution_unit.hpp"
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
  ctx.answers = routes.answers();
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

/// The front actor. A class rather than a function-based actor so that its
/// turns run on the I/O threads (`io_hosted`, see io_execution_unit.hpp).
class front_actor final : public io_hosted<caf::event_based_actor> {
public:
  front_actor(caf::actor_config& cfg, std::shared_ptr<const route_table> routes,
              std::shared_ptr<io_execution_unit> unit)
    : io_hosted(cfg, std::move(unit)), routes_(std::move(routes)) {
    // nop
  }

  const char* name() const override {
    return "billow.front";
  }

  caf::behavior make_behavior() override {
    pending_.on_add([this] {
      arm_sweep();
    });
    return {
      [this](const exchange_ptr& ex) {
        dispatch(this, *routes_, ex, pending_);
      },
      [this](sweep_answers_atom) {
        sweep_armed_ = false;
        auto late = pending_.expire(pending_answers::clock::now());
        for (auto& ctx : late)
          ctx.reply(error_response(make_error(
            billow_errc::timeout, "No answer from the actor in time.")));
        arm_sweep();
      },
    };
  }

private:
  void arm_sweep() {
    if (sweep_armed_ || pending_.empty())
      return;
    sweep_armed_ = true;
    delayed_send(this, sweep_interval, sweep_answers_atom::value);
  }

  std::shared_ptr<const route_table> routes_;
  pending_answers pending_;
  /// Whether a sweep is on its way.
  bool sweep_armed_ = false;
};

} // namespace

caf::actor spawn_front(caf::actor_system& sys,
                       std::shared_ptr<const route_table> routes,
                       std::shared_ptr<io_execution_unit> unit) {
  return sys.spawn<front_actor>(std::move(routes), std::move(unit));
}

} // namespace billow::api
