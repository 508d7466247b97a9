#include "modules/sdk/product.hpp"

#include <algorithm>

#include "events/errc.hpp"

namespace billow::modules::sdk {

boost::json::object
product::get_product_data(const boost::json::object& data) const {
  return data;
}

caf::expected<boost::json::object>
product::save_product_data(const boost::json::object& data) const {
  return get_product_data(data);
}

caf::expected<std::string>
product::get_product_page(const boost::json::object&) const {
  return make_not_supported("get_product_page");
}

boost::json::object
product::get_service_data(const boost::json::object& data) const {
  return data;
}

caf::expected<boost::json::object>
product::save_service_data(const boost::json::object& data) const {
  return get_service_data(data);
}

caf::expected<std::string>
product::get_service_page(const service_context&) const {
  return make_not_supported("get_service_page");
}

caf::expected<std::string>
product::queue_lifecycle(std::string job, std::string tag,
                         const service_context& service) {
  boost::json::object data;
  data["service_uuid"] = service.service_uuid;
  auto opts = lifecycle_job_options(job);
  return tasks().add(std::move(job), std::move(data), {std::move(tag)}, opts);
}

caf::expected<std::string> product::create(const service_context& service) {
  return queue_lifecycle("create_job", "create", service);
}

caf::expected<std::string> product::suspend(const service_context& service) {
  return queue_lifecycle("suspend_job", "suspend", service);
}

caf::expected<std::string> product::unsuspend(const service_context& service) {
  return queue_lifecycle("unsuspend_job", "unsuspend", service);
}

caf::expected<std::string>
product::termination(const service_context& service) {
  return queue_lifecycle("termination_job", "termination", service);
}

caf::expected<std::string>
product::change_package(const service_context& service) {
  return queue_lifecycle("change_package_job", "change_package", service);
}

job_options product::lifecycle_job_options(std::string_view) const {
  return job_options{};
}

caf::expected<void> product::create_job(service_context&) {
  return make_not_supported("create_job");
}

caf::expected<void> product::suspend_job(service_context&) {
  return make_not_supported("suspend_job");
}

caf::expected<void> product::unsuspend_job(service_context&) {
  return make_not_supported("unsuspend_job");
}

caf::expected<void> product::termination_job(service_context&) {
  return make_not_supported("termination_job");
}

caf::expected<void> product::change_package_job(service_context&) {
  return make_not_supported("change_package_job");
}

caf::expected<void> product::run_job(job_call& call) {
  using job_fn = caf::expected<void> (product::*)(service_context&);
  static constexpr std::pair<std::string_view, job_fn> lifecycle[] = {
    {"create_job", &product::create_job},
    {"suspend_job", &product::suspend_job},
    {"unsuspend_job", &product::unsuspend_job},
    {"termination_job", &product::termination_job},
    {"change_package_job", &product::change_package_job},
  };
  for (const auto& [name, fn] : lifecycle) {
    if (call.method != name)
      continue;
    if (!call.service)
      return make_error(billow_errc::invalid_argument,
                        call.method + " needs a service");
    return (this->*fn)(*call.service);
  }
  return module::run_job(call);
}

std::vector<client_area_tab> product::get_client_area_menu_config() const {
  return {};
}

caf::expected<boost::json::object>
product::call_client_tab_variables(std::string_view tab,
                                   const client_call& call) const {
  auto it = tabs_.find(tab);
  if (it == tabs_.end())
    return make_error(billow_errc::not_found,
                      "no client area tab '" + std::string{tab} + "'");
  return it->second(call);
}

caf::expected<boost::json::value>
product::call_client_controller(std::string_view tab, std::string_view method,
                                const client_call& call) const {
  auto it = controllers_.find({std::string{tab}, std::string{method}});
  if (it == controllers_.end())
    return make_error(billow_errc::not_found,
                      "no client area controller '" + std::string{tab} + "/"
                        + std::string{method} + "'");
  return it->second(call);
}

caf::expected<std::string>
product::render_client_tab(std::string_view tab,
                           const client_call& call) const {
  auto menu = get_client_area_menu_config();
  auto it = std::find_if(menu.begin(), menu.end(), [&](const auto& t) {
    return t.key == tab;
  });
  if (it == menu.end())
    return make_error(billow_errc::not_found,
                      "no client area tab '" + std::string{tab} + "'");
  auto vars = call_client_tab_variables(tab, call);
  if (!vars)
    return std::move(vars.error());
  return view(it->template_name, *vars);
}

void product::register_client_tab(std::string tab, tab_variables fn) {
  tabs_.insert_or_assign(std::move(tab), std::move(fn));
}

void product::register_client_controller(std::string tab, std::string method,
                                         client_controller fn) {
  controllers_.insert_or_assign({std::move(tab), std::move(method)},
                                std::move(fn));
}

} // namespace billow::modules::sdk
