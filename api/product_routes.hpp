#pragma once

// The admin routes of products (docs/api.md, "Admin: catalogue, clients,
// services"):
//
//   POST /api/v1/admin/products        create a product      products.write
//   GET  /api/v1/admin/products        the list              products.read
//   GET  /api/v1/admin/products/{id}   one product           products.read
//
// A product is a `product-<uuid>` stream appended to directly (no aggregate
// yet). Its Product module, when it names one, checks and normalises its
// `product_data` first (`save_product_data`, off the actor threads); its
// prices are checked by api/prices.hpp. Reads come from the provisioning
// projection.

#include <memory>

#include "api/admin_backend.hpp"
#include "api/router.hpp"

namespace billow::api {

void add_product_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        admin_backend backend);

} // namespace billow::api
