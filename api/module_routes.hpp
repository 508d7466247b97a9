#pragma once

// The module routes of the admin API:
//   GET  /api/v1/admin/modules                              (modules.read)
//   POST /api/v1/admin/modules/{type}/{name}/activate       (modules.write)
//   POST /api/v1/admin/modules/{type}/{name}/deactivate     (modules.write)
//   POST /api/v1/admin/modules/{type}/{name}/update         (modules.write)
//   PUT  /api/v1/admin/modules/{type}/{name}/config         (modules.write)
//   *    /api/v1/admin/modules/{type}/{name}/api/{uri...}   (modules.read and
//        the permission the module's route declares)

#include <memory>

#include "api/auth.hpp"
#include "api/router.hpp"

namespace billow::modules {
class module_catalog;
} // namespace billow::modules

namespace billow::api {

void add_module_routes(route_table& routes,
                       const std::shared_ptr<const auth_context>& auth,
                       const std::shared_ptr<modules::module_catalog>& catalog);

} // namespace billow::api
