#pragma once

// Billing settings and tax rules: GET/PUT /api/v1/admin/billing/settings,
// GET/POST /api/v1/admin/tax-rules (billing.read/write). The shared shape is in
// api/billing_backend.hpp.

#include <memory>

#include "api/billing_backend.hpp"

namespace billow::api {

void add_billing_settings_routes(
  route_table& routes, const std::shared_ptr<const auth_context>& auth,
  billing_backend backend);

} // namespace billow::api
