#pragma once

// Durable jobs: the seed's `Task::add('ModuleJob', 'Module', $data, $tags)`.
//
// Each job is an actor with its own stream `job-<uuid>`; the job manager
// adds, deduplicates, routes and resumes them. Policy, with Laravel's
// meaning (docs/design.md, "Actors"):
// - `tries` caps attempts (counted since the job was queued or last retried
//   by command);
// - `max_exceptions` caps attempts that threw or timed out (0: no cap); an
//   attempt whose module returned an error counts against `tries` only;
// - `backoff` is the wait before the next attempt: one value for all, or one
//   per attempt (the last repeats);
// - `timeout` bounds one attempt, counted from when a worker starts it (not
//   while it waits for a free worker): the attempt is recorded failed and its
//   worker replaced (actors/worker_pool.hpp).
// An attempt never runs twice at once; after a crash the attempt that was
// running is run again with the same number (at-least-once), so the module
// sees a stable job id and attempt number.
//
// State machine of one job (events in brackets; a new job's `job.queued`
// and `job.started 1` go in one append, a retried job's start in its own):
//
//            [job.queued]        [job.started k]
//   (none) ───────────────► queued ─────────────► running k
//                              ▲                    │  │ ok [job.succeeded] ──►
//                              completed ■ │                    │  │
//    [job.retried] (command)   │        error / throw / timeout
//                              │      [job.attempt_failed k] +
//                              │         ├─ tries or max_exceptions left:
//                              │         │  [job.retry_scheduled k+1 at] ──►
//                              retrying │         │      retrying ──clock
//                              reaches at──► running k+1 │         └─
//                              otherwise: [job.failed] ──► failed ■
//                              └──────────────────────────────────────────────┘

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/context.hpp"
#include "events/uuid.hpp"

namespace billow::actors {

/// Retry policy; defaults as PUQcloud ships them.
struct job_policy {
  /// Most attempts (at least 1).
  uint32_t tries = 3;
  /// Seconds to wait before attempt k+1 is `backoff_s[k-1]` (the last value
  /// repeats); empty means no wait.
  std::vector<uint32_t> backoff_s{10};
  /// Seconds one attempt may run (at least 1).
  uint32_t timeout_s = 600;
  /// Most attempts that threw or timed out; 0 means no cap.
  uint32_t max_exceptions = 2;

  /// Seconds to wait after failed attempt `k` (1-based).
  uint32_t backoff_after(uint32_t k) const noexcept {
    if (backoff_s.empty())
      return 0;
    return k - 1 < backoff_s.size() ? backoff_s[k - 1] : backoff_s.back();
  }

  friend bool operator==(const job_policy&, const job_policy&) = default;
};

/// A policy as stored in events and snapshots: `{tries, backoff: [s...],
/// timeout, max_exceptions}`.
boost::json::object to_json(const job_policy& p);

/// The policy stored by `to_json`; missing fields get PUQcloud's defaults.
job_policy policy_from_json(const boost::json::object& o);

/// The job status of docs/api.md.
enum class job_status : uint8_t {
  queued,
  running,
  retrying,
  completed,
  failed
};

/// `queued`, `running`, ... as in docs/api.md.
const char* to_string(job_status x);

/// What to run: the arguments of `Task::add`.
struct job_spec {
  /// The job's id; nil lets the manager pick a random one. Callers that must
  /// not queue twice (a service's lifecycle command) pass a derived one.
  events::uuid job_id;
  /// Module, e.g. `Product/nextcloud`.
  std::string module;
  /// Job method, e.g. `create_job`.
  std::string method;
  /// The service it acts on (nil when none); outcomes of service jobs go to
  /// the manager's sink.
  events::uuid service_id;
  /// JSON object text handed to the module.
  std::string input = "{}";
  std::vector<std::string> tags;
  job_policy policy;
  /// Who queued it (`admin:<id>`, `system`, ...).
  std::string actor = "system";
  /// Set by a caller that knows nothing is stored under `job_id` yet: it
  /// names the job in an event it has just appended for the first time. The
  /// job's actor then starts empty instead of reading the job's stream.
  bool unstored = false;
};

/// One failed attempt.
struct job_failure {
  uint32_t attempt = 0;
  /// `error` (the module returned one), `exception` or `timeout`.
  std::string kind;
  std::string message;
};

/// A job as callers see it (GET /api/v1/admin/jobs/{id}).
struct job_view {
  events::uuid job_id;
  job_status status = job_status::queued;
  std::string module;
  std::string method;
  events::uuid service_id;
  std::string input;
  std::vector<std::string> tags;
  job_policy policy;
  /// Number of the last attempt started (0: none yet).
  uint32_t attempt = 0;
  /// Attempts counted against `tries` since queued or last retried.
  uint32_t attempts_used = 0;
  /// Attempts that threw or timed out, against `max_exceptions`.
  uint32_t exceptions = 0;
  std::vector<job_failure> failures;
  /// The module's result (JSON text) once completed.
  std::string result;
  /// Why it failed, once failed.
  std::string error;
  /// When the next attempt starts, while retrying (us since the epoch).
  int64_t retry_at_us = 0;
  /// The job stream's version.
  uint64_t version = 0;

  bool terminal() const noexcept {
    return status == job_status::completed || status == job_status::failed;
  }
};

/// Counters of the job manager.
struct job_stats {
  /// Job actors alive (unfinished jobs plus a few being read).
  uint64_t live = 0;
  uint64_t added = 0;
  uint64_t deduplicated = 0;
  uint64_t resumed = 0;
};

/// The job manager's interface.
using job_manager_actor = caf::typed_actor<
  /// Queues a job, or answers the identical queued or running job (same
  /// module, method, service, input and tags), or the job with the given id
  /// when it exists. Answers once `job.queued` is durable.
  caf::replies_to<job_add_atom, job_spec>::with<job_view>,
  /// The job's current view; `not_found` for an unknown id.
  caf::replies_to<job_get_atom, events::uuid>::with<job_view>,
  /// Queues a failed job again (`invalid_transition` unless failed), with a
  /// fresh `tries` budget; attempt numbers keep counting.
  caf::replies_to<job_retry_atom, events::uuid, std::string>::with<job_view>,
  /// Answers the job's view once it is completed or failed.
  caf::replies_to<job_await_atom, events::uuid>::with<job_view>,
  /// Job -> manager: the job reached a terminal state.
  caf::reacts_to<job_done_atom, job_view>,
  /// Sets the actor that receives `job_done_atom, job_view` for every
  /// finished job with a service (the service registry).
  caf::reacts_to<job_sink_atom, caf::actor>,
  /// Resumes every unfinished job found in the log (start-up); answers how
  /// many were resumed.
  caf::replies_to<recover_atom>::with<uint64_t>,
  caf::replies_to<stats_atom>::with<job_stats>>;

/// Spawns the job manager over `ctx` (which must outlive it).
job_manager_actor make_job_manager(caf::actor_system& sys,
                                   const runtime_context& ctx);

/// The stream of a job: `job-<uuid>`.
std::string job_stream(const events::uuid& id);

// -- inspection (CAF messages)
// -------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_policy& x) {
  return f(x.tries, x.backoff_s, x.timeout_s, x.max_exceptions);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_spec& x) {
  return f(x.job_id, x.module, x.method, x.service_id, x.input, x.tags,
           x.policy, x.actor, x.unstored);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_failure& x) {
  return f(x.attempt, x.kind, x.message);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_view& x) {
  return f(x.job_id, x.status, x.module, x.method, x.service_id, x.input,
           x.tags, x.policy, x.attempt, x.attempts_used, x.exceptions,
           x.failures, x.result, x.error, x.retry_at_us, x.version);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_stats& x) {
  return f(x.live, x.added, x.deduplicated, x.resumed);
}

} // namespace billow::actors
