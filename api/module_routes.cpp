#include "api/module_routes.hpp"

#include <boost/json.hpp>

#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "modules/host/module_catalog.hpp"

namespace billow::api {

void add_module_routes(
  route_table& routes, const std::shared_ptr<const auth_context>& auth,
  const std::shared_ptr<modules::module_catalog>& catalog) {
  routes.add(
    "GET", "/api/v1/admin/modules",
    require_admin(auth, "modules.read",
                  [catalog](const request_context& ctx) {
                    boost::json::array items;
                    for (const auto& m : catalog->list())
                      items.push_back(modules::to_json(m));
                    boost::json::object out{{"items", std::move(items)},
                                            {"next_cursor", nullptr}};
                    ctx.reply(json_response(200, boost::json::serialize(out)));
                  }),
    {"Every discovered module with its status", "modules.read"});
  routes.add(
    "PUT", "/api/v1/admin/modules/{type}/{name}/config",
    require_admin(
      auth, "modules.write",
      [auth, catalog](const request_context& ctx) {
        boost::json::object body;
        if (auto bad = parse_object_body(ctx.request(), body)) {
          ctx.reply(std::move(*bad));
          return;
        }
        auth->run_blocking([ctx, catalog, body = std::move(body)]() mutable {
          auto res = catalog->configure(ctx.params.at("type"),
                                        ctx.params.at("name"), std::move(body),
                                        ctx.caller->actor());
          if (!res) {
            ctx.reply(error_response(res.error()));
            return;
          }
          ctx.reply(
            json_response(200, boost::json::serialize(modules::to_json(*res))));
        });
      }),
    {"Replace a module's configuration (secrets are sealed before they are "
     "recorded)",
     "modules.write",
     {},
     true});
  for (std::string command : {"activate", "deactivate"}) {
    routes.add(
      "POST", "/api/v1/admin/modules/{type}/{name}/" + command,
      require_admin(auth, "modules.write",
                    [auth, catalog, command](const request_context& ctx) {
                      // activate() may talk to external systems: off the
                      // actor threads.
                      auth->run_blocking([ctx, catalog, command] {
                        const auto& type = ctx.params.at("type");
                        const auto& name = ctx.params.at("name");
                        auto actor = ctx.caller->actor();
                        auto res = command == "activate"
                          ? catalog->activate(type, name, actor)
                          : catalog->deactivate(type, name, actor);
                        if (!res) {
                          ctx.reply(error_response(res.error()));
                          return;
                        }
                        ctx.reply(json_response(
                          200, boost::json::serialize(modules::to_json(*res))));
                      });
                    }),
      {command == "activate" ? "Activate a module (runs activate())"
                             : "Deactivate a module (runs deactivate())",
       "modules.write"});
  }
}

} // namespace billow::api
