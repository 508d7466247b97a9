#pragma once

// The admin API for the service lifecycle (docs/api.md, "Admin: catalogue,
// clients, services", and the jobs) and the manual clock:
//
//   POST/GET /api/v1/admin/clients, GET /clients/{id}          clients.*
//   POST/GET /api/v1/admin/products, GET /products/{id}        products.*
//   POST/GET /api/v1/admin/services, GET /services/{id}        services.*
//   POST /api/v1/admin/services/{id}/{create|suspend|unsuspend|terminate|
//        change_package|cancel}                                services.write
//   GET /api/v1/admin/jobs, /jobs/{id}, POST /jobs/{id}/retry  jobs.*
//   POST /api/v1/admin/clock/advance {seconds}  (--clock=manual only)
//
// Commands go to the service registry and job manager as messages
// (request(...).then(...) from the front actor); they answer once their
// events are durable. `Idempotency-Key` and `If-Match` pass through to the
// aggregates. Commands answer `X-Billow-Position`: the log position their
// events are at or below.
//
// Lists (`{"items", "next_cursor"}`, `?limit=&cursor=`) read the provisioning
// and jobs projections; every GET of a list or a service takes
// `?min_position=N` and waits (bounded) until its projection reached N, so a
// client reads its own write (504 when it does not in time).

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "actors/job.hpp"
#include "actors/service.hpp"
#include "api/auth.hpp"
#include "api/router.hpp"
#include "events/writer.hpp"
#include "projections/jobs.hpp"
#include "projections/provisioning.hpp"
#include "vault/vault.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::modules {
class module_catalog;
} // namespace billow::modules

namespace billow::api {

/// What the service routes talk to.
struct service_backend {
  events::event_store* store = nullptr;
  events::writer_actor writer;
  actors::job_manager_actor jobs;
  actors::service_registry_actor services;
  std::shared_ptr<modules::module_catalog> catalog;
  actors::clock* clock = nullptr;
  /// The read models of the lists and of a service's data.
  std::shared_ptr<projections::provisioning> provisioning = nullptr;
  std::shared_ptr<projections::jobs_projection> job_list = nullptr;
  /// How long a read waits for `?min_position=`.
  std::chrono::milliseconds read_wait = std::chrono::seconds(5);
  /// Where credentials and personal data keys are kept.
  vault::stores vault = {};
};

/// The `product_data` of product `id` as recorded (none when unknown).
std::optional<boost::json::object>
product_data_of(const events::event_store& store, const std::string& id);

void add_service_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        service_backend backend);

} // namespace billow::api
