#include "modules/sdk/module.hpp"

#include <algorithm>
#include <cctype>

#include "events/errc.hpp"

namespace billow::modules::sdk {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
    && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
             == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == '/')
    s.remove_suffix(1);
  return s;
}

} // namespace

admin_route_match match_admin_route(std::vector<admin_route> routes,
                                    std::string_view method,
                                    std::string_view uri) {
  admin_route_match out;
  uri = trim_slashes(uri);
  for (auto& r : routes) {
    if (trim_slashes(r.uri) != uri)
      continue;
    if (!out.route && iequals(r.method, method))
      out.route = std::move(r);
    else
      out.allowed.push_back(std::move(r.method));
  }
  return out;
}

module::module() :ctx_(std::make_shared<module_context>(context_options{})) {
  // nop
}

module::~module() = default;

void module::attach(std::shared_ptr<const module_context> ctx) {
  std::lock_guard guard{ctx_mtx_};
  if (ctx)
    ctx_ = std::move(ctx);
}

std::shared_ptr<const module_context> module::context() const {
  std::lock_guard guard{ctx_mtx_};
  return ctx_;
}

caf::expected<void> module::activate() {
  return caf::unit;
}

caf::expected<void> module::update(const std::string&) {
  return caf::unit;
}

caf::expected<void> module::deactivate() {
  return caf::unit;
}

boost::json::value module::config(std::string_view key) const {
  return context()->config(key);
}

caf::expected<std::string> module::view(std::string_view template_name,
                                        const boost::json::object& data) const {
  return context()->view(template_name, data);
}

void module::log_info(std::string_view action, std::string_view message,
                      boost::json::value data) const {
  context()->log(log_level::info, action, message, std::move(data));
}

void module::log_error(std::string_view action, std::string_view message,
                       boost::json::value data) const {
  context()->log(log_level::error, action, message, std::move(data));
}

void module::log_debug(std::string_view action, std::string_view message,
                       boost::json::value data) const {
  context()->log(log_level::debug, action, message, std::move(data));
}

module_tasks module::tasks() const {
  return context()->tasks();
}

std::vector<admin_permission> module::admin_permissions() const {
  return {};
}

std::vector<sidebar_entry> module::admin_sidebar() const {
  return {};
}

std::vector<admin_route> module::admin_web_routes() const {
  return {};
}

std::vector<admin_route> module::admin_api_routes() const {
  return {};
}

caf::expected<boost::json::value>
module::call_admin_route(route_kind kind, std::string_view method,
                         std::string_view uri, const admin_call& call) const {
  auto found = match_admin_route(kind == route_kind::web ? admin_web_routes()
                                                         : admin_api_routes(),
                                 method, uri);
  if (!found.route)
    return make_error(billow_errc::not_found,
                      "no admin route " + std::string{method} + " "
                        + std::string{uri});
  const auto* it = &*found.route;
  if (!it->permission.empty() && !call.all_permissions
      && std::find(call.permissions.begin(), call.permissions.end(),
                   it->permission)
        == call.permissions.end())
    return make_error(billow_errc::permission_denied,
                      "admin route " + it->name + " needs permission "
                        + it->permission);
  auto ctrl = admin_controllers_.find(it->controller);
  if (ctrl == admin_controllers_.end())
    return make_error(billow_errc::internal,
                      "admin route " + it->name + " names unknown controller "
                        + it->controller);
  return ctrl->second(call);
}

caf::expected<void> module::run_job(job_call& call) {
  auto it = jobs_.find(call.method);
  if (it == jobs_.end())
    return make_error(billow_errc::not_found,
                      "module has no job method '" + call.method + "'");
  return it->second(call);
}

std::vector<std::string> module::hooks() const {
  return context()->manifest().hooks;
}

caf::expected<void> module::on_event(const hook_event& event) {
  return make_not_supported("hook for " + event.type);
}

void module::register_job(std::string method, job_handler fn) {
  jobs_.insert_or_assign(std::move(method), std::move(fn));
}

void module::register_admin_controller(std::string name, admin_controller fn) {
  admin_controllers_.insert_or_assign(std::move(name), std::move(fn));
}

} // namespace billow::modules::sdk
