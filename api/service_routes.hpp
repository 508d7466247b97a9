#pragma once

// The admin routes of services and their lifecycle (docs/api.md, "Admin:
// catalogue, clients, services"), and the client area's list of its own:
//
//   POST /api/v1/admin/services                   order one     services.write
//   GET  /api/v1/admin/services                   the list      services.read
//        ?status=&client_id=&product_id=
//   GET  /api/v1/admin/services/{id}              one service   services.read
//   POST /api/v1/admin/services/{id}/{create|suspend|unsuspend|terminate|
//        change_package|cancel}                   lifecycle     services.write
//   GET  /api/v1/client/services                  own services  client token
//
// Commands go to the service registry as messages (request(...).then(...)
// from the front actor) and answer once their events are durable, with the
// service, its version as `ETag` and `X-Billow-Position`; `Idempotency-Key`
// and `If-Match` pass through to the aggregate. Reads come from the
// provisioning projection and wait for `?min_position=`; a GET of one
// service is never older than the commands acknowledged before it.

#include <memory>

#include "api/admin_backend.hpp"
#include "api/router.hpp"

namespace billow::api {

void add_service_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        admin_backend backend);

} // namespace billow::api
