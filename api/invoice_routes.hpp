#pragma once

// Invoices: GET/POST /api/v1/admin/invoices, GET /invoices/{id} and /pdf
// (invoices.read), POST /invoices/{id}/issue, cancel, apply-credit, payments
// (invoices.write), refunds (payments.refund). The shared shape is in
// api/billing_backend.hpp.

#include <memory>

#include "api/billing_backend.hpp"

namespace billow::api {

void add_invoice_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        billing_backend backend);

} // namespace billow::api
