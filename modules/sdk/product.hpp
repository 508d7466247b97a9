#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "modules/sdk/module.hpp"

namespace billow::modules::sdk {

/// One tab of a service's client area (the seed's
/// `getClientAreaMenuConfig()` entries).
struct client_area_tab {
  /// The tab key, e.g. `overview`; `variables_<key>` fills its template.
  std::string key;
  /// Display name.
  std::string name;
  /// Template name for `view`, e.g. `client_area.overview`.
  std::string template_name;
};

/// A client-area call, without HTTP types (the HTTP layer adapts).
struct client_call {
  service_context service;
  /// The client making the call.
  std::string client_uuid;
  /// Whether that client owns the service (secrets only for the owner).
  bool owner = false;
  /// Query and body parameters.
  boost::json::object params;
};

/// A module that manages the lifecycle of services (the seed's `Product`).
///
/// The lifecycle commands (`create`, `suspend`, ...) queue the matching job
/// through `tasks()`; the runtime later calls the job (`create_job`, ...)
/// through `run_job` with the service. Jobs must be idempotent: a retry after
/// a crash must converge.
class product : public module {
public:
  /// `variables_<tab>`: the data a tab's template renders with.
  using tab_variables
    = std::function<caf::expected<boost::json::object>(const client_call&)>;
  /// `controller_client_<tab>_<method>`: an action inside a tab.
  using client_controller
    = std::function<caf::expected<boost::json::value>(const client_call&)>;

  module_type type() const noexcept final {
    return module_type::product;
  }

  // -- product and service configuration -------------------------------------

  /// `getProductData`: the product's settings with defaults filled in.
  /// Default: `data` unchanged.
  virtual boost::json::object
  get_product_data(const boost::json::object& data) const;

  /// `saveProductData`: checks and normalises settings an admin saves.
  /// Default: `get_product_data(data)`.
  virtual caf::expected<boost::json::object>
  save_product_data(const boost::json::object& data) const;

  /// `getProductPage`: the admin's product settings form. Default: not
  /// supported.
  virtual caf::expected<std::string>
  get_product_page(const boost::json::object& product_data) const;

  /// `getServiceData`: a service's data with defaults. Default: unchanged.
  virtual boost::json::object
  get_service_data(const boost::json::object& data) const;

  /// `saveServiceData`: checks service data an admin saves. Default:
  /// `get_service_data(data)`.
  virtual caf::expected<boost::json::object>
  save_service_data(const boost::json::object& data) const;

  /// `getServicePage`: the admin's service page. Default: not supported.
  virtual caf::expected<std::string>
  get_service_page(const service_context& service) const;

  // -- lifecycle commands: queue the job, answer its id ----------------------

  virtual caf::expected<std::string> create(const service_context& service);
  virtual caf::expected<std::string> suspend(const service_context& service);
  virtual caf::expected<std::string> unsuspend(const service_context& service);
  virtual caf::expected<std::string>
  termination(const service_context& service);
  virtual caf::expected<std::string>
  change_package(const service_context& service);

  /// The options the lifecycle commands queue `job` with. Default: the
  /// seed's `tries 1, backoff 60 s, timeout 600 s, maxExceptions 1`.
  virtual job_options lifecycle_job_options(std::string_view job) const;

  // -- lifecycle jobs (default: not supported) -------------------------------

  virtual caf::expected<void> create_job(service_context& service);
  virtual caf::expected<void> suspend_job(service_context& service);
  virtual caf::expected<void> unsuspend_job(service_context& service);
  virtual caf::expected<void> termination_job(service_context& service);
  virtual caf::expected<void> change_package_job(service_context& service);

  /// Runs the five lifecycle jobs by name (they need `call.service`), then
  /// the jobs registered with `register_job`.
  caf::expected<void> run_job(job_call& call) override;

  // -- client area -----------------------------------------------------------

  /// `getClientAreaMenuConfig`: the service's client-area tabs. Default: none.
  virtual std::vector<client_area_tab> get_client_area_menu_config() const;

  /// Calls `variables_<tab>`: unknown tab is `not_found`.
  caf::expected<boost::json::object>
  call_client_tab_variables(std::string_view tab,
                            const client_call& call) const;

  /// Calls `controller_client_<tab>_<method>`: unknown is `not_found`.
  caf::expected<boost::json::value>
  call_client_controller(std::string_view tab, std::string_view method,
                         const client_call& call) const;

  /// Renders tab `tab`: its variables through its template.
  caf::expected<std::string> render_client_tab(std::string_view tab,
                                               const client_call& call) const;

protected:
  /// Registers `variables_<tab>`.
  void register_client_tab(std::string tab, tab_variables fn);

  /// Registers `controller_client_<tab>_<method>`.
  void register_client_controller(std::string tab, std::string method,
                                  client_controller fn);

private:
  caf::expected<std::string> queue_lifecycle(std::string job, std::string tag,
                                             const service_context& service);

  std::map<std::string, tab_variables, std::less<>> tabs_;
  std::map<std::pair<std::string, std::string>, client_controller> controllers_;
};

} // namespace billow::modules::sdk
