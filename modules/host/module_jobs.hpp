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

/// The data of a product, by product id (none when unknown).
using product_lookup = std::function<std::optional<boost::json::object>(
  const std::string& product_id)>;

class catalog_module_port : public actors::module_port {
public:
  catalog_module_port(const module_catalog& catalog,
                      const events::event_store& store,
                      product_lookup products);

  caf::expected<std::string> run_job(const actors::job_call& call) override;

private:
  const module_catalog& catalog_;
  const events::event_store& store_;
  product_lookup products_;
};

/// The SDK's task queue over the job manager. Blocks its caller until the
/// job is queued: call it from module code (worker pool), never from an
/// actor.
class job_task_queue : public sdk::task_queue {
public:
  job_task_queue(caf::actor_system& sys, actors::job_manager_actor jobs);

  caf::expected<std::string> add(sdk::task_request request) override;

private:
  caf::actor_system& sys_;
  actors::job_manager_actor jobs_;
};

/// The latest `service_data` a module saved for service `id` (empty when
/// none): the result of the service's last successful job that had one.
boost::json::object latest_service_data(const events::event_store& store,
                                        const events::uuid& id);

} // namespace billow::modules
