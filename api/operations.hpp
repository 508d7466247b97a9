#pragma once

// The operations routes every deployment has: `/healthz`, `/readyz` and
// `/metrics`.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/router.hpp"

namespace prometheus {
class Registry;
} // namespace prometheus

namespace billow::api {

/// A readiness check: the empty optional when ready, else why not.
struct readiness_check {
  std::string name;
  std::function<std::optional<std::string>()> probe;
};

/// Adds `GET /healthz` (the process answers), `GET /readyz` (every check
/// passes: 200, else 503 naming the failing checks) and `GET /metrics`
/// (Prometheus text of `registry` plus process figures; `refresh` runs
/// first, to update gauges that are read on demand).
void add_operations_routes(route_table& routes,
                           std::shared_ptr<prometheus::Registry> registry,
                           std::vector<readiness_check> checks,
                           std::function<void()> refresh = {});

} // namespace billow::api
