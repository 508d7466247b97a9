#include "api/front.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "api/problem.hpp"

namespace billow::api {

void dispatch(caf::event_based_actor* self, const route_table& routes,
              const exchange_ptr& ex) {
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

/// The front actor's behavior. The routes come in as a spawn argument, not a
/// lambda capture: CAF 0.17.6 dereferences a null tuple pointer when a
/// function-based actor is spawned without arguments (UBSan reports it).
caf::behavior front(caf::event_based_actor* self,
                    std::shared_ptr<const route_table> routes) {
  return {
    [self, routes = std::move(routes)](const exchange_ptr& ex) {
      dispatch(self, *routes, ex);
    },
  };
}

} // namespace

caf::actor spawn_front(caf::actor_system& sys,
                       std::shared_ptr<const route_table> routes) {
  return sys.spawn(front, std::move(routes));
}

} // namespace billow::api
