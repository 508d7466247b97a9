#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/aggregate.hpp"
#include "actors/clock.hpp"
#include "actors/job.hpp"
#include "actors/worker_pool.hpp"

namespace billow::actors {

/// The outcome of one attempt, as a worker thread reports it.
struct attempt_outcome {
  bool ok = false;
  /// `error`, `exception` or `timeout` when not ok.
  std::string kind;
  /// The result (ok) or the error text.
  std::string text;
};

/// A job's internal interface (the manager routes to it).
using job_actor = caf::typed_actor<
  /// Queues the job when its stream is empty (else ignores the spec), then
  /// starts or resumes work; answers the view once durable.
  caf::replies_to<job_start_atom, job_spec>::with<job_view>,
  caf::replies_to<job_get_atom>::with<job_view>,
  caf::replies_to<job_retry_atom, std::string>::with<job_view>,
  caf::replies_to<job_await_atom>::with<job_view>,
  caf::reacts_to<attempt_begun_atom, uint32_t>,
  caf::reacts_to<attempt_done_atom, uint32_t, attempt_outcome>,
  caf::reacts_to<attempt_timeout_atom, uint32_t>,
  caf::reacts_to<job_wake_atom, uint32_t>,
  /// Manager -> job: quit once idle. Only the manager ends a job actor, so
  /// it never routes a message to one that is gone.
  caf::reacts_to<passivate_atom>>;

/// The pure, event-built state of one job.
struct job_state {
  job_view view;
  /// `attempt` when the job was last queued or retried: tries count from it.
  uint32_t attempt_base = 0;

  static void apply(job_state& st, std::string_view type,
                    const boost::json::object& p);
  boost::json::object to_json() const;
  static job_state from_json(const boost::json::object& obj);
};

/// The job actor's state: the aggregate plus this incarnation's runtime
/// bookkeeping (nothing here is durable).
struct job_actor_state {
  static inline const char* name = "billow.job";

  aggregate<job_state> agg;
  const runtime_context* ctx = nullptr;
  job_manager_actor manager;
  /// True once this incarnation started or resumed work.
  bool active = false;
  /// The worker ticket and timeout timer of the running attempt.
  ticket running_ticket = 0;
  timer_id timeout_timer = 0;
  timer_id wake_timer = 0;
  /// Callers waiting for a terminal state.
  std::vector<caf::typed_response_promise<job_view>> awaiting;
  /// The status this incarnation counts in `billow_jobs` (none: not yet).
  std::optional<job_status> counted;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_outcome& x) {
  return f(x.ok, x.kind, x.text);
}

} // namespace billow::actors
