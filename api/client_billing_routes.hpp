#pragma once

// The client area's billing: GET /api/v1/client/invoices, /invoices/{id},
// /invoices/{id}/pdf, /account; POST /api/v1/client/add-funds. The shared shape
// is in api/billing_backend.hpp.

#include <memory>

#include "api/billing_backend.hpp"

namespace billow::api {

void add_client_billing_routes(route_table& routes,
                               const std::shared_ptr<const auth_context>& auth,
                               billing_backend backend);

} // namespace billow::api
