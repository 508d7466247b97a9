#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

namespace billow::modules::sdk {

/// The seed's job options (`tries`, `backoff`, `timeout`, `maxExceptions`).
struct job_options {
  /// How many times the job may be attempted in all.
  int tries = 1;
  /// The pause between attempts.
  std::chrono::seconds backoff{60};
  /// How long one attempt may run before it counts as failed.
  std::chrono::seconds timeout{600};
  /// How many attempts may end in an exception (or module error) before the
  /// job fails for good, even with tries left.
  int max_exceptions = 1;
};

/// A job a module asks the runtime to run later: `method` on module
/// `module_type/module_name` with `data`.
struct task_request {
  std::string module_type;
  std::string module_name;
  /// The job method, e.g. `create_job`; the runtime calls it through
  /// `module::run_job`.
  std::string method;
  boost::json::object data;
  /// Free-form labels (the seed's `$tags`, e.g. `{"create"}`).
  std::vector<std::string> tags;
  job_options options;
};

/// Where `tasks().add(...)` puts jobs. The actor runtime implements it (its
/// job actors keep tries, backoff, timeout and max_exceptions); tests back it
/// with a vector.
class task_queue {
public:
  virtual ~task_queue();

  /// Queues `request` and answers the job's id, or why it was refused.
  virtual caf::expected<std::string> add(task_request request) = 0;
};

} // namespace billow::modules::sdk
