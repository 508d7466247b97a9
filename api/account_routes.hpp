#pragma once

// Client accounts: GET /api/v1/admin/clients/{id}/account and /ledger
// (billing.read), PUT /clients/{id} (clients.write), POST
// /clients/{id}/adjustments (billing.write). The shared shape is in
// api/billing_backend.hpp.

#include <memory>

#include "api/billing_backend.hpp"

namespace billow::api {

void add_account_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        billing_backend backend);

} // namespace billow::api
