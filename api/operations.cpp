#include "api/operations.hpp"

#include <boost/json.hpp>

#include "api/metrics.hpp"
#include "api/problem.hpp"

namespace billow::api {

void add_operations_routes(route_table& routes,
                           std::shared_ptr<prometheus::Registry> registry,
                           std::vector<readiness_check> checks,
                           std::function<void()> refresh) {
  routes.add("GET", "/healthz",
             [](const request_context& ctx) {
               ctx.reply(json_response(200, R"({"status":"ok"})"));
             },
             {"The process is up"});
  routes.add(
    "GET", "/readyz", [checks = std::move(checks)](const request_context& ctx) {
      boost::json::object results;
      std::string failing;
      for (const auto& check : checks) {
        auto reason = check.probe();
        results[check.name] = reason ? boost::json::value(*reason)
                                     : boost::json::value("ok");
        if (reason)
          failing += (failing.empty() ? "" : "; ") + check.name + ": "
            + *reason;
      }
      if (!failing.empty()) {
        auto resp = problem_response(503, "Not ready: " + failing + ".");
        ctx.reply(std::move(resp));
        return;
      }
      boost::json::object body{{"status", "ready"},
                               {"checks", std::move(results)}};
      ctx.reply(json_response(200, boost::json::serialize(body)));
    });
  routes.add("GET", "/metrics",
             [registry = std::move(registry),
              refresh = std::move(refresh)](const request_context& ctx) {
               if (refresh)
                 refresh();
               http_response resp;
               resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
               resp.body = render_metrics(*registry);
               ctx.reply(std::move(resp));
             });
}

} // namespace billow::api
