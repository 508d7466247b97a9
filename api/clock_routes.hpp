#pragma once

// The admin route of the manual clock (`billow serve --clock=manual`), for
// tests and demonstrations that move time by hand:
//
//   POST /api/v1/admin/clock/advance {seconds}   move it forward  clock.write
//
// With the system clock it answers 409.

#include <memory>

#include "api/admin_backend.hpp"
#include "api/router.hpp"

namespace billow::api {

void add_clock_routes(route_table& routes,
                      const std::shared_ptr<const auth_context>& auth,
                      admin_backend backend);

} // namespace billow::api
