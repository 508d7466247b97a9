#pragma once

// The admin routes of clients (docs/api.md, "Admin: catalogue, clients,
// services"):
//
//   POST /api/v1/admin/clients              create a client     clients.write
//   GET  /api/v1/admin/clients              the list            clients.read
//   GET  /api/v1/admin/clients/{id}         one client          clients.read
//   POST /api/v1/admin/clients/{id}/erase   crypto-shredding    clients.erase
//
// A client is a `client-<uuid>` stream appended to directly (no aggregate
// yet); its name and email are sealed with its own key (vault/). Reads come
// from the provisioning projection. The client area's own routes are
// api/client_routes.hpp.

#include <memory>

#include "api/admin_backend.hpp"
#include "api/router.hpp"

namespace billow::api {

void add_client_admin_routes(route_table& routes,
                             const std::shared_ptr<const auth_context>& auth,
                             admin_backend backend);

} // namespace billow::api
