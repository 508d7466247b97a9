#pragma once

#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "modules/sdk/fwd.hpp"

namespace billow::modules::sdk {

/// What the event log says about a module (the integrator folds its module
/// events into this).
struct module_record {
  /// Whether the module is activated now.
  bool active = false;
  /// The version that last ran `activate()` or `update()`; empty if never.
  std::optional<std::string> version;
};

/// What asks for a lifecycle decision.
enum class lifecycle_command {
  /// Billow starts (or rescans) and finds the module's folder.
  start,
  /// An admin activates the module.
  activate,
  /// An admin deactivates the module.
  deactivate,
};

/// One call to make on the module object.
struct lifecycle_step {
  enum kind_type { activate, update, deactivate } kind;
  /// For `update`: the recorded version to migrate from.
  std::string from_version;

  friend bool operator==(const lifecycle_step&, const lifecycle_step&)
    = default;
};

/// Decides which lifecycle calls to run, in order, for `command` given the
/// recorded state and module.json's `manifest_version`:
///
/// - `start`: an active module whose module.json is newer runs
///   `update(recorded)`; an inactive one runs nothing.
/// - `activate`: an inactive module runs `activate()`, then
///   `update(recorded)` if it was activated before at an older version; an
///   active one behaves as on `start` (activation is idempotent).
/// - `deactivate`: an active module runs `deactivate()`; an inactive one
///   nothing.
///
/// A module.json older than the recorded version is refused with
/// `billow_errc::invalid_transition` (no downgrades); a version that does not
/// parse with `billow_errc::invalid_argument`.
caf::expected<std::vector<lifecycle_step>>
plan_lifecycle(const module_record& record, const std::string& manifest_version,
               lifecycle_command command);

/// Runs `steps` on `target` in order and stops at the first error. A module
/// that throws is turned into `billow_errc::module_failure` naming the step;
/// nothing escapes.
caf::expected<void> run_lifecycle(module& target,
                                  const std::vector<lifecycle_step>& steps);

} // namespace billow::modules::sdk
