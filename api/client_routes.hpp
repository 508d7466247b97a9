#pragma once

// The client area over HTTP (docs/api.md, "Client area"), behind client
// tokens:
//
//   GET  /api/v1/client/services/{id}                      the service
//   GET  /api/v1/client/services/{id}/tabs                 its module's tabs
//   GET  /api/v1/client/services/{id}/tabs/{tab}           variables_<tab>
//                                                          and the view
//   POST /api/v1/client/services/{id}/tabs/{tab}/{method}  controller_client_
//                                                          <tab>_<method>
//
// A client sees only its own services: anyone else's id answers 404, as an
// unknown one does. Module code runs on the module worker pool, never on
// CAF's threads; its errors become problems (404 unknown tab or method, 422
// validation, 502 an upstream failure or a module that threw).

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "actors/service.hpp"
#include "api/auth.hpp"
#include "api/router.hpp"

namespace billow::modules {
class module_catalog;
} // namespace billow::modules

namespace billow::api {

/// What the client-area routes talk to.
struct client_area_backend {
  actors::service_registry_actor services;
  std::shared_ptr<modules::module_catalog> catalog;
  /// Runs module code (may block) off CAF's scheduler threads.
  std::function<void(std::function<void()>)> run_module;
  /// The product data of a product id (none when unknown). Blocking read.
  std::function<std::optional<boost::json::object>(const std::string&)>
    product_data;
  /// The service data the module saved for a service. Blocking read.
  std::function<boost::json::object(const events::uuid&)> service_data;
  /// A service's next due date as the provisioning projection holds it
  /// (empty when it has none); read after `service_data`, which waits for
  /// the projection.
  std::function<std::string(const events::uuid&)> next_due_date;
  /// Runs `fn` once the provisioning projection has applied the log as it
  /// is now, or after the read wait, the wait holding no thread (none: at
  /// once). Answers that read `current_service_data` then.
  std::function<void(std::function<void()>)> when_current = nullptr;
  /// `service_data` without its wait: the projection's, or the log scan
  /// when the projection is behind. Blocking read (none: `service_data`).
  std::function<boost::json::object(const events::uuid&)> current_service_data
    = nullptr;
  /// A product's name as the provisioning projection holds it (none when
  /// unknown); none: the answer's `product_name` is null.
  std::function<std::optional<std::string>(const std::string&)> product_name
    = nullptr;
};

/// The problem for an error a module call returned: not_found 404,
/// invalid_argument 422, permission_denied 403, anything else (unavailable,
/// module_failure, timeout, ...) 502, an upstream failure.
http_response module_error_response(const caf::error& err);

void add_client_routes(route_table& routes,
                       const std::shared_ptr<const auth_context>& auth,
                       client_area_backend backend);

} // namespace billow::api
