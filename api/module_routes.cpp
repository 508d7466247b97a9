#include "api/module_routes.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include <spdlog/fmt/fmt.h>

#include "api/client_routes.hpp"
#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "api/problem.hpp"
#include "api/redaction.hpp"
#include "events/errc.hpp"
#include "modules/host/module_catalog.hpp"
#include "modules/sdk/module.hpp"
#include "projections/admin_directory.hpp"

namespace billow::api {

namespace {

/// `* /api/v1/admin/modules/{type}/{name}/api/{uri...}`: a module's
/// `admin_api_routes`, each behind the permission it declares.
void add_module_api_routes(
  route_table& routes, const std::shared_ptr<const auth_context>& auth,
  const std::shared_ptr<modules::module_catalog>& catalog) {
  // Runs on the blocking pool: the catalog's lock is held while modules
  // activate, and module code may block.
  auto dispatch = [catalog](const request_context& ctx) {
    const auto& type = ctx.params.at("type");
    const auto& name = ctx.params.at("name");
    auto listed = catalog->list();
    auto known = std::find_if(listed.begin(), listed.end(), [&](const auto& m) {
      return m.type == type && m.name == name;
    });
    if (known == listed.end())
      return ctx.reply(
        problem_response(404, fmt::format("No module {}/{}.", type, name),
                         "/problems/not_found"));
    auto instance = catalog->active_instance(type, name);
    if (!instance)
      return ctx.reply(
        problem_response(409,
                         fmt::format("Module {}/{} is {}: activate it first.",
                                     type, name, known->status),
                         "/problems/invalid_transition"));
    const auto& method = ctx.request().method;
    const auto& uri = ctx.params.at("uri");
    auto [route, allowed] = modules::sdk::match_admin_route(
      instance->admin_api_routes(), method, uri);
    auto allow = fmt::format("{}", fmt::join(allowed, ", "));
    if (!route && allow.empty())
      return ctx.reply(problem_response(
        404, fmt::format("Module {}/{} has no API route {}.", type, name, uri),
        "/problems/not_found"));
    if (!route) {
      std::transform(allow.begin(), allow.end(), allow.begin(),
                     [](unsigned char c) {
                       return static_cast<char>(std::toupper(c));
                     });
      auto resp
        = problem_response(405,
                           fmt::format("{} is not allowed on {}; allowed: {}.",
                                       method, uri, allow));
      resp.headers.emplace_back("Allow", allow);
      return ctx.reply(std::move(resp));
    }
    const auto& group = ctx.caller->group;
    if (!route->permission.empty()
        && !projections::group_grants(group, route->permission))
      return ctx.reply(problem_response(
        403,
        fmt::format("This admin (group {}) lacks the permission {}.", group,
                    route->permission),
        "/problems/permission_denied"));
    modules::sdk::admin_call call;
    call.admin_uuid = ctx.caller->id;
    call.all_permissions = projections::group_grants(group, "*");
    for (const auto& p : instance->admin_permissions())
      if (projections::group_grants(group, p.key))
        call.permissions.push_back(p.key);
    if (!route->permission.empty())
      call.permissions.push_back(route->permission);
    for (const auto& [k, v] : ctx.request().query)
      call.params[k] = v;
    if (!ctx.request().body.empty()) {
      boost::json::object body;
      if (auto bad = parse_object_body(ctx.request(), body))
        return ctx.reply(std::move(*bad));
      for (auto& [k, v] : body)
        call.params[k] = std::move(v);
    }
    caf::expected<boost::json::value> res{caf::none};
    try {
      res = instance->call_admin_route(modules::sdk::route_kind::api, method,
                                       uri, call);
    } catch (const std::exception& ex) {
      res = make_error(billow_errc::module_failure,
                       fmt::format("the module threw: {}", ex.what()));
    } catch (...) {
      res = make_error(billow_errc::module_failure,
                       "the module threw a non-standard exception");
    }
    if (!res)
      return ctx.reply(module_error_response(res.error()));
    ctx.reply(json_response(200, boost::json::serialize(*res)));
  };
  auto handler = [auth, dispatch](const request_context& ctx) {
    auth->run_blocking([ctx, dispatch] {
      try {
        dispatch(ctx);
      } catch (const std::exception& ex) { // a module's route list threw
        ctx.reply(module_error_response(
          make_error(billow_errc::module_failure,
                     fmt::format("the module threw: {}", ex.what()))));
      } catch (...) {
        ctx.reply(module_error_response(
          make_error(billow_errc::module_failure,
                     "the module threw a non-standard exception")));
      }
    });
  };
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"})
    routes.add(method, "/api/v1/admin/modules/{type}/{name}/api/{uri...}",
               require_admin(auth, "modules.read", handler),
               {"A module's admin API route (admin_api_routes), behind the "
                "permission it declares as well",
                "modules.read",
                {},
                std::string_view{method} != "GET"
                  && std::string_view{method} != "DELETE"});
}

} // namespace

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
    "GET", "/api/v1/admin/modules/{type}/{name}/config",
    require_admin(auth, "modules.read",
                  [catalog](const request_context& ctx) {
                    auto config = catalog->config(ctx.params.at("type"),
                                                  ctx.params.at("name"));
                    if (!config)
                      return ctx.reply(error_response(config.error()));
                    // Secrets are write-only: shown as "[redacted]" to
                    // every caller, secrets.read or not.
                    boost::json::value out = std::move(*config);
                    redact_secrets(out);
                    ctx.reply(json_response(200, boost::json::serialize(out)));
                  }),
    {"A module's configuration, its secrets shown as \"[redacted]\"",
     "modules.read"});
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
  for (std::string command : {"activate", "deactivate", "update"}) {
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
                          : command == "deactivate"
                          ? catalog->deactivate(type, name, actor)
                          : catalog->update(type, name, actor);
                        if (!res) {
                          ctx.reply(error_response(res.error()));
                          return;
                        }
                        ctx.reply(json_response(
                          200, boost::json::serialize(modules::to_json(*res))));
                      });
                    }),
      {command == "activate"       ? "Activate a module (runs activate())"
         : command == "deactivate" ? "Deactivate a module (runs deactivate())"
                                   : "Run the module's update(from_version) "
                                     "when module.json is newer than the "
                                     "recorded version; 409 when there is "
                                     "nothing to update",
       "modules.write"});
  }
  add_module_api_routes(routes, auth, catalog);
}

} // namespace billow::api
