#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <caf/expected.hpp>

#include "modules/sdk/errors.hpp"
#include "modules/sdk/manifest.hpp"
#include "modules/sdk/module_context.hpp"

namespace billow::modules::sdk {

/// An admin permission a module declares (the seed's `adminPermissions()`).
struct admin_permission {
  /// Stable key routes refer to, e.g. `postgres-servers`.
  std::string key;
  std::string name;
  std::string description;
};

/// An admin sidebar entry (the seed's `adminSidebar()`).
struct sidebar_entry {
  std::string title;
  std::string link;
  std::vector<std::string> active_links;
  std::string permission;
};

/// An admin web or API route (the seed's
/// `adminWebRoutes()`/`adminApiRoutes()`). `controller` names a controller the
/// module registered with `register_admin_controller`.
struct admin_route {
  std::string method;
  std::string uri;
  std::string permission;
  std::string name;
  std::string controller;
};

/// Which route table a call addresses.
enum class route_kind { web, api };

/// What `match_admin_route` found.
struct admin_route_match {
  /// The route for the method and uri; none when no route answers both.
  std::optional<admin_route> route;
  /// The methods routes of that uri answer (for 405 and `Allow`).
  std::vector<std::string> allowed;
};

/// The route of `routes` for `method` (any case) and `uri` (slashes at
/// either end do not matter).
admin_route_match match_admin_route(std::vector<admin_route> routes,
                                    std::string_view method,
                                    std::string_view uri);

/// A call to an admin controller, without HTTP types (the HTTP layer adapts).
struct admin_call {
  std::string admin_uuid;
  /// The permission keys the admin holds.
  std::vector<std::string> permissions;
  /// Administrators with every permission.
  bool all_permissions = false;
  /// Query and body parameters.
  boost::json::object params;
};

/// The service a Product job or client-area call is about. Jobs may change
/// `service_data`; the runtime records the new value.
struct service_context {
  std::string service_uuid;
  std::string client_uuid;
  boost::json::object product_data;
  boost::json::object service_data;
};

/// One run of a job method (queued by `tasks().add`).
struct job_call {
  std::string method;
  boost::json::object data;
  /// The service, for Product lifecycle jobs.
  std::optional<service_context> service;
};

/// A committed event delivered to a module hook.
struct hook_event {
  std::string type;
  std::string stream;
  /// The log position, so a hook can be idempotent.
  uint64_t position = 0;
  boost::json::object payload;
};

/// The base of every module (the seed's `App\Modules\Module`).
///
/// A module object is made once per loaded module by its shared object's
/// entry point and then used from several job workers at once: overrides must
/// be thread-safe (keep per-service state in `service_context`, not in
/// members). The host attaches a `module_context` before the first call.
class module {
public:
  /// A job method registered by name (see `register_job`).
  using job_handler = std::function<caf::expected<void>(job_call&)>;
  /// An admin controller registered by name.
  using admin_controller
    = std::function<caf::expected<boost::json::value>(const admin_call&)>;

  module();
  virtual ~module();
  module(const module&) = delete;
  module& operator=(const module&) = delete;

  /// Which of the four kinds this module is.
  virtual module_type type() const noexcept = 0;

  // -- context ---------------------------------------------------------------

  /// Attaches (or replaces) the context; the host does this before use and
  /// again when the configuration changes.
  void attach(std::shared_ptr<const module_context> ctx);

  /// The attached context (an empty one before `attach`).
  std::shared_ptr<const module_context> context() const;

  // -- lifecycle (the seed's activate/update/deactivate) ---------------------

  /// Prepares resources when an admin activates the module. An error leaves
  /// the module inactive with the reason. Default: nothing to do.
  virtual caf::expected<void> activate();

  /// Migrates from `from_version` (the recorded one) to module.json's
  /// version. Default: nothing to do.
  virtual caf::expected<void> update(const std::string& from_version);

  /// Releases resources when an admin deactivates the module. Default:
  /// nothing to do.
  virtual caf::expected<void> deactivate();

  // -- the seed's contract helpers -------------------------------------------

  /// `config($key)`: dotted key into the module's configuration, `null` when
  /// absent.
  boost::json::value config(std::string_view key) const;

  /// `view($template, $data)`: renders `views/{template}.mustache`.
  caf::expected<std::string> view(std::string_view template_name,
                                  const boost::json::object& data = {}) const;

  /// `logInfo/logError/logDebug($action, $message, $data)`.
  void log_info(std::string_view action, std::string_view message,
                boost::json::value data = nullptr) const;
  void log_error(std::string_view action, std::string_view message,
                 boost::json::value data = nullptr) const;
  void log_debug(std::string_view action, std::string_view message,
                 boost::json::value data = nullptr) const;

  /// `Task::add(...)` for this module's job methods.
  module_tasks tasks() const;

  // -- admin area ------------------------------------------------------------

  /// Permissions the module's admin routes use. Default: none.
  virtual std::vector<admin_permission> admin_permissions() const;

  /// Admin sidebar entries. Default: none.
  virtual std::vector<sidebar_entry> admin_sidebar() const;

  /// Admin web routes. Default: none.
  virtual std::vector<admin_route> admin_web_routes() const;

  /// Admin API routes. Default: none.
  virtual std::vector<admin_route> admin_api_routes() const;

  /// Dispatches an admin call: finds the route of `kind` with `method` and
  /// `uri`, checks the route's permission against `call` (refused with
  /// `permission_denied`), and runs the route's controller. Unknown route:
  /// `not_found`.
  caf::expected<boost::json::value>
  call_admin_route(route_kind kind, std::string_view method,
                   std::string_view uri, const admin_call& call) const;

  // -- jobs and hooks --------------------------------------------------------

  /// Runs job `call.method` (the runtime's side of `tasks().add`). Default:
  /// the jobs registered with `register_job`; unknown methods are
  /// `not_found`.
  virtual caf::expected<void> run_job(job_call& call);

  /// The event types the module's hooks listen to (the seed's hooks.php).
  /// Default: module.json's `hooks`.
  virtual std::vector<std::string> hooks() const;

  /// Receives one committed event of a type from `hooks()`, at least once.
  /// Default: not supported.
  virtual caf::expected<void> on_event(const hook_event& event);

protected:
  /// Registers job method `method` for `run_job`.
  void register_job(std::string method, job_handler fn);

  /// Registers a controller that admin routes name in `controller`.
  void register_admin_controller(std::string name, admin_controller fn);

private:
  mutable std::mutex ctx_mtx_;
  std::shared_ptr<const module_context> ctx_;
  std::map<std::string, job_handler, std::less<>> jobs_;
  std::map<std::string, admin_controller, std::less<>> admin_controllers_;
};

} // namespace billow::modules::sdk
