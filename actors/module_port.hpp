#pragma once

// The port through which jobs call module code (docs/design.md, "Folders
// and their direction" and "Modules").
//
// actors/ owns this interface; the module SDK implements it and plugs the
// loaded modules in at start-up; tests plug in a test-only module. The
// runtime calls it from a worker-pool thread (never a CAF scheduler thread),
// so an implementation may block on I/O. It may be called concurrently for
// different jobs, and again for the same job and attempt after a crash
// (at-least-once): `job_id` and `attempt` let the module be idempotent.
//
// Outcomes of one call:
// - a value: the attempt succeeded; the string is the job's result (JSON);
// - an error (`caf::expected` holding a `billow_errc`, usually
//   `module_failure` with a detail): the attempt failed; it counts against
//   `tries`, not against `max_exceptions`;
// - a thrown exception: the attempt failed and counts against both, as does
//   an attempt that exceeds its timeout.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "events/uuid.hpp"

namespace billow::actors {

/// One attempt of one job, as handed to the module.
struct job_call {
  /// The job's stable id: the same on every attempt and after a restart.
  events::uuid job_id;
  /// 1-based attempt number; a repeat after a crash keeps its number.
  uint32_t attempt = 1;
  /// The module, e.g. `Product/nextcloud`.
  std::string module;
  /// The job method, e.g. `create_job`.
  std::string method;
  /// The service the job acts on (nil when none).
  events::uuid service_id;
  /// The job's input: the text of one JSON object.
  std::string input;
  /// The job's tags, e.g. {"create"}.
  std::vector<std::string> tags;
  /// The log position of this attempt's `job.started`. Everything the job
  /// depends on (its service's earlier jobs and their results, its product)
  /// is in the log before it, so data read for the call need reflect the log
  /// up to here and no further. 0: unknown (read as of the log's head).
  uint64_t started_at = 0;
};

/// What Billow needs from module code to run jobs.
class module_port {
public:
  virtual ~module_port() = default;

  /// Runs `call.method` of `call.module`; see the header comment for the
  /// meaning of a value, an error and an exception.
  virtual caf::expected<std::string> run_job(const job_call& call) = 0;
};

} // namespace billow::actors
