#pragma once

// The billing run and its preview (docs/api.md, "Admin: billing"):
// POST /api/v1/admin/billing/run (billing.write) runs the billing scheduler
// for the clock's now and answers its counts; GET
// /api/v1/admin/billing/preview?client_id=&until= (billing.read) answers
// what runs up to `until` would do, from the same plan, writing nothing.

#include <memory>

#include <boost/json/object.hpp>

#include "actors/billing/billing_scheduler.hpp"
#include "api/billing_backend.hpp"

namespace billow::api {

void add_billing_run_routes(route_table& routes,
                            const std::shared_ptr<const auth_context>& auth,
                            billing_backend backend);

/// A run's counts as the API answers them.
boost::json::object run_counts_json(const billing::run_counts& c);

} // namespace billow::api
