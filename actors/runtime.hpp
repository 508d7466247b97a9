#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <caf/fwd.hpp>

#include "events/uuid.hpp"

namespace prometheus {
class Registry;
} // namespace prometheus

namespace billow::actors {

enum class job_status : uint8_t;

/// How the actor runtime is sized. Defaults suit a 2-core machine.
struct runtime_options {
  /// Worker threads of CAF's scheduler; 0 means one per hardware thread.
  std::size_t scheduler_threads = 0;
  /// Use CAF's deterministic testing scheduler (tests only).
  bool deterministic = false;
  /// How long shutdown waits for module calls still running before it
  /// detaches their workers (actors/worker_pool.hpp).
  std::chrono::milliseconds worker_grace{10'000};
};

/// Makes an actor system config with Billow's error category and message
/// types registered and the scheduler sized by `opts`.
std::unique_ptr<caf::actor_system_config>
make_actor_system_config(const runtime_options& opts);

/// The runtime's Prometheus figures (`/metrics`). Thread-safe; the runtime
/// takes it through `runtime_context::metrics` and the worker pool's
/// constructor, and works without one (null).
///
/// | family | type | meaning |
/// |---|---|---|
/// | `billow_service_actors_live` | gauge | service actors in the registry |
/// | `billow_service_actors_spawned_total` | counter | spawned (rehydrated) |
/// | `billow_service_actors_passivated_total` | counter | passivated idle |
/// | `billow_service_actors_evicted_total` | counter | passivated by the cap |
/// | `billow_service_actors_down_total` | counter | ended otherwise (a load
///   error, an exception): dropped so the next message respawns |
/// | `billow_jobs{status}` | gauge | queued, running, retrying: unfinished
///   jobs (all of them once recovery ran); completed, failed: jobs that
///   ended so since this process started (a retry leaves failed) |
/// | `billow_job_attempts_total` | counter | attempts handed to the pool |
/// | `billow_job_attempt_failures_total{kind}` | counter | error,
///   exception, timeout |
/// | `billow_worker_pool_workers{state}` | gauge | busy, idle |
/// | `billow_worker_pool_replaced_total` | counter | hung workers replaced |
class runtime_metrics {
public:
  explicit runtime_metrics(prometheus::Registry& registry);
  ~runtime_metrics();

  runtime_metrics(const runtime_metrics&) = delete;
  runtime_metrics& operator=(const runtime_metrics&) = delete;

  void services_live(std::size_t n);
  void service_spawned();
  void service_passivated();
  void service_evicted();
  void service_down();

  /// Job `id` moved from `from` (none: not counted by this incarnation) to
  /// `to`.
  void job_moved(const events::uuid& id, std::optional<job_status> from,
                 job_status to);
  void job_attempt();
  /// `kind`: error, exception or timeout.
  void job_attempt_failed(std::string_view kind);

  void pool_workers(std::size_t busy, std::size_t idle);
  void worker_replaced();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace billow::actors
