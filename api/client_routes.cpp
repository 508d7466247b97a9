#include "api/client_routes.hpp"

#include <exception>

#include <boost/json.hpp>
#include <caf/event_based_actor.hpp>
#include <spdlog/fmt/fmt.h>

#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "api/problem.hpp"
#include "api/redaction.hpp"
#include "api/route_helpers.hpp"
#include "events/errc.hpp"
#include "modules/host/module_catalog.hpp"
#include "modules/sdk/product.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

constexpr auto ask_timeout = std::chrono::seconds(30);

/// The same answer for an unknown service and someone else's.
http_response no_such_service(const request_context& ctx) {
  return problem_response(404,
                          fmt::format("No service {}.", ctx.params.at("id")),
                          "/problems/not_found");
}

/// Resolves `{id}` to a service of the calling client and runs `next` with
/// it on the front actor; answers 404 for anything else.
void with_own_service(const request_context& ctx,
                      const std::shared_ptr<client_area_backend>& be,
                      std::function<void(const actors::service_view&)> next) {
  auto id = events::uuid::parse(ctx.params.at("id"));
  if (!id)
    return ctx.reply(no_such_service(ctx));
  ctx.self->request(be->services, ask_timeout, actors::query_atom::value, *id)
    .then(
      [ctx, next = std::move(next)](const actors::service_view& v) {
        if (v.status == actors::service_status::none
            || events::to_string(v.client_id) != ctx.caller->id)
          return ctx.reply(no_such_service(ctx));
        next(v);
      },
      [ctx](caf::error& err) {
        if (errc_of(err) == billow_errc::not_found)
          return ctx.reply(no_such_service(ctx));
        ctx.reply(error_response(err));
      });
}

/// Runs module code, turning an exception into `module_failure`.
template <class F>
auto guarded(F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& ex) {
    return make_error(billow_errc::module_failure,
                      fmt::format("the module threw: {}", ex.what()));
  } catch (...) {
    return make_error(billow_errc::module_failure,
                      "the module threw a non-standard exception");
  }
}

/// Runs `fn` on the module pool; an exception escaping it (from module
/// code) answers 502 instead of ending the worker.
void on_module_pool(const client_area_backend& be, const request_context& ctx,
                    std::function<void()> fn) {
  be.run_module([ctx, fn = std::move(fn)] {
    try {
      fn();
    } catch (const std::exception& ex) {
      ctx.reply(module_error_response(
        make_error(billow_errc::module_failure,
                   fmt::format("the module threw: {}", ex.what()))));
    } catch (...) {
      ctx.reply(
        module_error_response(make_error(billow_errc::module_failure,
                                         "the module threw a non-standard "
                                         "exception")));
    }
  });
}

/// The service's Product module, or the problem to answer.
struct product_target {
  std::shared_ptr<modules::sdk::module> holder; // keeps it loaded
  modules::sdk::product* product = nullptr;
  std::optional<http_response> problem;
};

product_target product_of(const client_area_backend& be,
                          const actors::service_view& v) {
  product_target out;
  auto slash = v.module.find('/');
  if (v.module.empty() || slash == std::string::npos) {
    out.problem = problem_response(
      404, "This service has no client area (its product has no module).",
      "/problems/not_found");
    return out;
  }
  out.holder = be.catalog->active_instance(v.module.substr(0, slash),
                                           v.module.substr(slash + 1));
  out.product = dynamic_cast<modules::sdk::product*>(out.holder.get());
  if (out.product == nullptr)
    out.problem = problem_response(
      503, fmt::format("The service's module {} is not active.", v.module),
      "/problems/unavailable");
  return out;
}

/// What a module's client-area method gets: the service and the caller.
modules::sdk::client_call
make_call(const client_area_backend& be, const request_context& ctx,
          const actors::service_view& v, json::object params) {
  modules::sdk::client_call call;
  call.service.service_uuid = events::to_string(v.id);
  call.service.client_uuid = events::to_string(v.client_id);
  if (auto pd = be.product_data(events::to_string(v.product_id)))
    call.service.product_data = std::move(*pd);
  call.service.service_data = be.service_data(v.id);
  call.client_uuid = ctx.caller->id;
  call.owner = call.client_uuid == call.service.client_uuid;
  call.params = std::move(params);
  return call;
}

/// Private answers (the owner's credentials) must not be cached.
http_response private_json(unsigned status, const json::value& body) {
  auto resp = json_response(status, json::serialize(body));
  resp.headers.emplace_back("Cache-Control", "no-store");
  return resp;
}

} // namespace

http_response module_error_response(const caf::error& err) {
  auto detail = detail_of(err);
  if (detail.empty())
    detail = to_string(err);
  switch (errc_of(err)) {
    case billow_errc::not_found:
      return problem_response(404, std::move(detail), "/problems/not_found");
    case billow_errc::invalid_argument:
      return problem_response(422, std::move(detail),
                              "/problems/invalid_argument");
    case billow_errc::permission_denied:
      return problem_response(403, std::move(detail),
                              "/problems/permission_denied");
    default:
      return problem_response(502, "The module failed: " + detail,
                              "/problems/module_failure");
  }
}

void add_client_routes(route_table& routes,
                       const std::shared_ptr<const auth_context>& auth,
                       client_area_backend backend) {
  auto be = std::make_shared<client_area_backend>(std::move(backend));

  routes.add(
    "GET", "/api/v1/client/services/{id}",
    require_client(
      auth,
      [auth, be](const request_context& ctx) {
        with_own_service(
          ctx, be, [auth, be, ctx](const actors::service_view& v) {
            // The service data is a store read: off the actor thread, once
            // the projection is current (a wait that holds no thread).
            auto read = [auth, ctx, be, v] {
              auth->run_blocking([ctx, be, v] {
                json::value data = be->current_service_data
                  ? be->current_service_data(v.id)
                  : be->service_data(v.id);
                redact_secrets(data); // the tabs show what the client may see
                auto due = be->next_due_date(v.id);
                auto product_name = be->product_name
                  ? be->product_name(events::to_string(v.product_id))
                  : std::nullopt;
                json::object out{
                  {"id", events::to_string(v.id)},
                  {"label", or_null(v.label)},
                  {"client_id", events::to_string(v.client_id)},
                  {"product_id", events::to_string(v.product_id)},
                  {"product_name",
                   product_name ? json::value(*product_name)
                                : json::value(nullptr)},
                  {"period", or_null(v.period)},
                  {"module", or_null(v.module)},
                  {"status", actors::to_string(v.status)},
                  {"provision_status", actors::to_string(v.provision)},
                  {"pending_operation",
                   v.pending_op == actors::service_op::none
                     ? json::value(nullptr)
                     : json::value(actors::to_string(v.pending_op))},
                  {"next_due_date", or_null(due)},
                  {"service_data", std::move(data)},
                  {"version", v.version},
                };
                ctx.reply(json_response(200, json::serialize(out)));
              });
            };
            if (be->when_current)
              return be->when_current(read);
            read();
          });
      }),
    {"One of the caller's services (404 for anyone else's)", "client"});

  routes.add(
    "GET", "/api/v1/client/services/{id}/tabs",
    require_client(
      auth,
      [be](const request_context& ctx) {
        with_own_service(ctx, be, [be, ctx](const actors::service_view& v) {
          on_module_pool(*be, ctx, [ctx, be, v] {
            auto target = product_of(*be, v);
            if (target.problem)
              return ctx.reply(std::move(*target.problem));
            auto menu = guarded(
              [&]()
                -> caf::expected<std::vector<modules::sdk::client_area_tab>> {
                return target.product->get_client_area_menu_config();
              });
            if (!menu)
              return ctx.reply(module_error_response(menu.error()));
            json::array items;
            for (const auto& tab : *menu)
              items.push_back(json::object{{"key", tab.key},
                                           {"name", tab.name},
                                           {"template", tab.template_name}});
            ctx.reply(json_response(
              200,
              json::serialize(json::object{{"items", std::move(items)},
                                           {"next_cursor", nullptr}})));
          });
        });
      }),
    {"The client-area tabs of the service's module "
     "(get_client_area_menu_config)",
     "client"});

  routes.add(
    "GET", "/api/v1/client/services/{id}/tabs/{tab}",
    require_client(
      auth,
      [be](const request_context& ctx) {
        with_own_service(ctx, be, [be, ctx](const actors::service_view& v) {
          on_module_pool(*be, ctx, [ctx, be, v] {
            auto target = product_of(*be, v);
            if (target.problem)
              return ctx.reply(std::move(*target.problem));
            const auto& key = ctx.params.at("tab");
            auto menu = guarded(
              [&]()
                -> caf::expected<std::vector<modules::sdk::client_area_tab>> {
                return target.product->get_client_area_menu_config();
              });
            if (!menu)
              return ctx.reply(module_error_response(menu.error()));
            auto tab = std::find_if(menu->begin(), menu->end(),
                                    [&](const auto& t) {
                                      return t.key == key;
                                    });
            if (tab == menu->end())
              return ctx.reply(problem_response(
                404, fmt::format("This service has no tab '{}'.", key),
                "/problems/not_found"));
            json::object params;
            for (const auto& [k, val] : ctx.request().query)
              params[k] = val;
            auto call = make_call(*be, ctx, v, std::move(params));
            auto vars = guarded([&] {
              return target.product->call_client_tab_variables(key, call);
            });
            if (!vars)
              return ctx.reply(module_error_response(vars.error()));
            auto html = guarded([&] {
              return target.product->view(tab->template_name, *vars);
            });
            if (!html) // a missing or broken template is the module's fault
              return ctx.reply(problem_response(
                502,
                fmt::format("The module failed to render tab '{}': {}", key,
                            detail_of(html.error())),
                "/problems/module_failure"));
            ctx.reply(private_json(200,
                                   json::object{{"tab", tab->key},
                                                {"name", tab->name},
                                                {"variables", *vars},
                                                {"html", *html}}));
          });
        });
      }),
    {"A tab of the service's client area: its variables (variables_<tab>) "
     "and the rendered view",
     "client"});

  routes.add(
    "POST", "/api/v1/client/services/{id}/tabs/{tab}/{method}",
    require_client(
      auth,
      [be](const request_context& ctx) {
        json::object body;
        if (!ctx.request().body.empty())
          if (auto bad = parse_object_body(ctx.request(), body))
            return ctx.reply(std::move(*bad));
        with_own_service(
          ctx, be,
          [be, ctx, body = std::move(body)](const actors::service_view& v) {
            on_module_pool(*be, ctx, [ctx, be, v, body] {
              auto target = product_of(*be, v);
              if (target.problem)
                return ctx.reply(std::move(*target.problem));
              const auto& tab = ctx.params.at("tab");
              const auto& method = ctx.params.at("method");
              auto call = make_call(*be, ctx, v, body);
              auto res = guarded([&] {
                return target.product->call_client_controller(tab, method,
                                                              call);
              });
              if (!res)
                return ctx.reply(module_error_response(res.error()));
              ctx.reply(private_json(200,
                                     json::object{{"tab", tab},
                                                  {"method", method},
                                                  {"result", *res}}));
            });
          });
      }),
    {"Run an action of a tab (controller_client_<tab>_<method>) with the "
     "JSON body as its parameters",
     "client",
     {},
     true});
}

} // namespace billow::api
