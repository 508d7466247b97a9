#pragma once

// The glue between the actor runtime's jobs and the loaded modules.
//
// - `catalog_module_port` implements actors::module_port: a job attempt runs
//   the job method of the active module it names. For a service's lifecycle
//   job it hands the module the service context: the product's data and the
//   service data the module saved on earlier jobs (from the service's last
//   outcome event whose job result carried `service_data`). A job's result
//   is `{"service_data": {...}}` for service jobs, `{}` otherwise.
// - `job_task_queue` implements the SDK's task_queue (`tasks().add`): it
//   queues the job with the job manager and answers its id.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "actors/job.hpp"
#include "actors/module_port.hpp"
#include "modules/sdk/task_queue.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::modules {

class module_catalog;

/// The data of a product, by product id (none when unknown), as of log
/// position `as_of` at least (0: the log's head now).
using product_lookup = std::function<std::optional<boost::json::object>(
  const std::string& product_id, uint64_t as_of)>;

/// The data the module last saved for a service, by service id, as of log
/// position `as_of` at least (0: the log's head now).
using service_data_lookup = std::function<boost::json::object(
  const events::uuid& service_id, uint64_t as_of)>;

class catalog_module_port : public actors::module_port {
public:
  /// Without `service_data`, a job's service data is found by reading the
  /// service's stream backwards (`latest_service_data`).
  catalog_module_port(const module_catalog& catalog,
                      const events::event_store& store, product_lookup products,
                      service_data_lookup service_data = nullptr);

  caf::expected<std::string> run_job(const actors::job_call& call) override;

private:
  const module_catalog& catalog_;
  const events::event_store& store_;
  product_lookup products_;
  service_data_lookup service_data_;
};

/// The SDK's task queue over the job manager. Blocks its caller until the
/// job is queued (at most 30 s): call it from module code (worker pool),
/// never from an actor.
///
/// Callers hand their job to a bridge actor through a shared queue and wait
/// on a future; the bridge sends the `job_add` requests and fulfils the
/// futures. That costs a fraction of a `scoped_actor` round trip per job
/// (bench_module). The bridge is linked to the job manager and ends with it;
/// an add after that answers `unavailable`.
class job_task_queue : public sdk::task_queue {
public:
  job_task_queue(caf::actor_system& sys, actors::job_manager_actor jobs);
  ~job_task_queue() override;

  caf::expected<std::string> add(sdk::task_request request) override;

  struct shared;

private:
  std::shared_ptr<shared> shared_;
};

/// The latest `service_data` a module saved for service `id` (empty when
/// none): the result of the service's last successful job that had one.
boost::json::object latest_service_data(const events::event_store& store,
                                        const events::uuid& id);

} // namespace billow::modules
