#pragma once

// The service aggregate (stream `service-<uuid>`) and its registry.
//
// A service is opened as an order (`pending` / provision `pending`), then its
// lifecycle commands each queue the product module's job (create ->
// create_job, suspend -> suspend_job, unsuspend -> unsuspend_job,
// terminate -> termination_job, change_package -> change_package_job) and
// the job's outcome is recorded as the service's next event. One operation
// runs at a time: while it is in progress, other lifecycle commands are
// refused with `invalid_transition`.
//
// State machine (status / provision_status; `*_requested` leaves status as it
// is and marks the operation in progress):
//
//   open ──[service.opened]──► pending/pending
//   pending/{pending,failed} ──create──[service.create_requested]──►
//   pending/processing
//       ok ──[service.provisioned]──► active/completed
//       failed ──[service.provisioning_failed]──► pending/failed
//   pending/{pending,failed} ──cancel──[service.cancelled]──► cancelled ■
//   active ──suspend──► ok [service.suspended] ──► suspended
//                       failed [service.suspend_failed] ──► active
//   suspended ──unsuspend──► ok [service.unsuspended] ──► active
//                            failed [service.unsuspend_failed] ──► suspended
//   active, suspended ──terminate──► ok [service.terminated] ──► terminated ■
//                                    failed [service.termination_failed] ──►
//                                    (unchanged)
//   active ──change_package──► ok [service.package_changed] (new product)
//                              failed [service.package_change_failed]
//   anything else ──► invalid_transition (terminated and cancelled are final)
//
// A service whose product has no module (manual provisioning) follows the
// same table, but each allowed command appends its outcome event at once
// (`service.provisioned`, `service.suspended`, ... with `manual: true`).
//
// The table lives in `decide_lifecycle` (actors/service_state.hpp) and is
// tested row by row in tests/actors/service_test.cpp.

#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/aggregate.hpp"
#include "actors/atoms.hpp"
#include "actors/job.hpp"
#include "actors/registry.hpp"

namespace billow::actors {

/// The service status of docs/api.md (`none`: the stream does not exist).
enum class service_status : uint8_t {
  none,
  pending,
  active,
  suspended,
  terminated,
  cancelled
};

/// The provision status of docs/api.md.
enum class provision_status : uint8_t {
  pending,
  processing,
  completed,
  failed
};

/// A lifecycle command.
enum class service_op : uint8_t {
  none,
  create,
  suspend,
  unsuspend,
  terminate,
  change_package,
  cancel
};

const char* to_string(service_status x);
const char* to_string(provision_status x);
const char* to_string(service_op x);

/// The module job method of a lifecycle operation (`create_job`, ...).
const char* job_method(service_op op);

/// Opens a service (an order).
struct open_service {
  events::uuid client_id;
  events::uuid product_id;
  /// The product's module, e.g. `Product/nextcloud`; empty for a product
  /// provisioned by hand (no jobs).
  std::string module;
  /// Who: `admin:<id>`, `client:<id>`, `system`.
  std::string actor = "system";
  /// Makes a retry answer the first result.
  std::string idempotency_key;
  /// The billing period ordered (`monthly`, ...; api/prices.hpp), empty
  /// when none was (a product without prices).
  std::string period = {};
  /// The admin's or client's name for it, empty when none.
  std::string label = {};
};

/// A lifecycle command for one service.
struct service_command {
  service_op op = service_op::none;
  /// The new product (change_package only).
  events::uuid product_id;
  std::string reason;
  std::string actor = "system";
  std::string idempotency_key;
  /// `If-Match`: refuse with `wrong_expected_version` unless the service is
  /// at this version (-1: unconditional).
  int64_t expected_version = -1;
  /// The job's retry policy (PUQcloud's defaults unless the module sets one).
  job_policy policy;
};

/// A service as callers see it.
struct service_view {
  events::uuid id;
  events::uuid client_id;
  events::uuid product_id;
  std::string module;
  service_status status = service_status::none;
  provision_status provision = provision_status::pending;
  /// The operation in progress (none when idle) and its job.
  service_op pending_op = service_op::none;
  events::uuid job_id;
  /// The last failed operation's error.
  std::string last_error;
  uint64_t version = 0;
  /// As ordered (`open_service`).
  std::string period = {};
  std::string label = {};
};

/// A lifecycle command's answer with the service as the command left it
/// (its events applied): what a caller that shows the service needs, without
/// asking the service again.
struct service_command_reply {
  command_result result;
  service_view view;
};

/// The registry's interface: every message names its service; the registry
/// spawns, rehydrates, passivates and forwards.
using service_registry_actor = caf::typed_actor<
  /// Opens a service; `already_exists` when it was opened before.
  caf::replies_to<svc_open_atom, events::uuid,
                  open_service>::with<command_result>,
  /// Runs a lifecycle command; answers once `service.*_requested` is durable,
  /// with the job id. `not_found`, `invalid_transition`,
  /// `wrong_expected_version` (If-Match), `invalid_argument`.
  caf::replies_to<svc_cmd_atom, events::uuid,
                  service_command>::with<command_result>,
  /// `svc_cmd` answered with the service's view once the command is done (a
  /// remembered answer comes with the view as it is now); the same errors.
  caf::replies_to<svc_cmd_view_atom, events::uuid,
                  service_command>::with<service_command_reply>,
  /// The service's current state; `not_found` for an unknown id.
  caf::replies_to<query_atom, events::uuid>::with<service_view>,
  /// Job manager -> registry: a service's job finished.
  caf::reacts_to<job_done_atom, job_view>,
  /// Clock -> registry: passivate idle actors.
  caf::reacts_to<sweep_atom>,
  /// A service actor ended (sent as it ends, whatever the reason), or could
  /// not load its state (sent by it; the registry then tells it to go).
  caf::reacts_to<agg_down_atom, events::uuid, caf::actor_addr>,
  caf::replies_to<stats_atom>::with<registry_stats>,
  /// Wakes every service whose operation was in progress when the process
  /// stopped (its last event is a request), so it re-queues or records its
  /// job; answers how many. Scans from a checkpoint (the lowest request
  /// still in flight), not the whole log.
  caf::replies_to<recover_atom>::with<uint64_t>>;

/// Spawns the service registry; registers itself as the job manager's sink.
service_registry_actor
make_service_registry(caf::actor_system& sys, const runtime_context& ctx,
                      job_manager_actor jobs, registry_options opts = {});

/// The stream of a service: `service-<uuid>`.
std::string service_stream(const events::uuid& id);

// -- inspection (CAF messages)
// -------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, open_service& x) {
  return f(x.client_id, x.product_id, x.module, x.actor, x.idempotency_key,
           x.period, x.label);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_command& x) {
  return f(x.op, x.product_id, x.reason, x.actor, x.idempotency_key,
           x.expected_version, x.policy);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_view& x) {
  return f(x.id, x.client_id, x.product_id, x.module, x.status, x.provision,
           x.pending_op, x.job_id, x.last_error, x.version, x.period, x.label);
}

template <class Inspector>
typename Inspector::result_type
inspect(Inspector& f, service_command_reply& x) {
  return f(x.result, x.view);
}

} // namespace billow::actors
