#pragma once

// The admin routes of jobs, the module work a service's lifecycle command
// queues (docs/api.md, "Admin: modules, payment gateways, jobs,
// notifications"):
//
//   GET  /api/v1/admin/jobs              the list (?status=&tag=)   jobs.read
//   GET  /api/v1/admin/jobs/{id}         one job                    jobs.read
//   POST /api/v1/admin/jobs/{id}/retry   queue a failed job again   jobs.write
//
// The list reads the jobs projection; one job and a retry ask the job
// manager. A job's `result` may hold service data: its secrets are redacted
// for callers without `secrets.read`.

#include <memory>

#include "api/admin_backend.hpp"
#include "api/router.hpp"

namespace billow::api {

void add_job_routes(route_table& routes,
                    const std::shared_ptr<const auth_context>& auth,
                    admin_backend backend);

} // namespace billow::api
