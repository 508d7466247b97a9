#pragma once

// The module catalog: which modules Billow found, which it refused and why,
// and which are active, all recorded in the log (stream
// `module-<type>-<name>`) so an operator can ask when a module was
// activated, updated or refused, and by whom.
//
// Events:
//   module.discovered          {version, description, author, dir}
//   module.refused             {reason, message}
//   module.activated           {version}
//   module.updated             {from_version, to_version}
//   module.activation_failed   {version, error}
//   module.deactivated         {version}
//
// The stream also holds what the running module writes (`module.log`,
// `module.log_dropped`, `module.hook_failed`, see module_log.hpp and
// module_host.hpp), so the catalog appends without an expected version (its
// own lock orders its decisions) and folds only the events above, read
// through the type index.
//
// State of one module, folded from its stream:
//
//   (none) --discovered--> inactive --activated--> active --deactivated-->
//   inactive
//     |                       |  ^                   |
//     +--refused--> refused   |  +--activation_failed+ (stays inactive)
//                             +--updated (active, module.json newer)

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

#include "events/envelope.hpp"
#include "events/event_store.hpp"
#include "modules/sdk/lifecycle.hpp"
#include "modules/sdk/loader.hpp"
#include "modules/sdk/secret_box.hpp"
#include "modules/sdk/task_queue.hpp"

namespace billow::modules {

/// One module as the catalog reports it.
struct module_status {
  std::string type; // `Product`, `Plugin`, `Payment`, `Notification`
  std::string name;
  /// module.json's version (what is on disk now).
  std::string version;
  std::string description;
  std::string author;
  /// `active`, `inactive` or `refused`.
  std::string status;
  /// The version that last ran activate()/update(); empty if never.
  std::string recorded_version;
  /// Why it was refused or why its last activation failed.
  std::string error;
  /// The stream's version (for If-Match).
  uint64_t stream_version = 0;
};

boost::json::object to_json(const module_status& s);

/// Appends events to a stream: through the writer actor inside a running
/// server, straight to the store in command-line tools.
using append_fn = std::function<caf::expected<events::append_result>(
  const std::string& stream, events::expected_version expected,
  std::vector<events::new_event> events)>;

/// What Billow lends every module through its context.
struct host_services {
  /// Where `tasks().add` queues jobs.
  std::shared_ptr<sdk::task_queue> tasks;
  /// Seals and opens the module's secrets.
  std::optional<sdk::secret_box> secrets;
  /// Where module log lines go besides spdlog (`module.log` events); may be
  /// null.
  std::shared_ptr<sdk::log_sink> logs;
};

/// Told when a module starts or stops running, so that each running module
/// gets its host actor (modules/host/module_host.hpp). Called with the
/// catalog's lock held: must not call back into the catalog.
class module_listener {
public:
  virtual ~module_listener();

  /// `instance` runs from now on: activated by a command (`fresh`), or found
  /// active by a scan (start-up, rescan).
  virtual void started(const std::string& type, const std::string& name,
                       const std::shared_ptr<sdk::module>& instance, bool fresh)
    = 0;

  /// The module was deactivated.
  virtual void stopped(const std::string& type, const std::string& name) = 0;

  /// Runs lifecycle `steps` (activate, update, deactivate) on `instance` and
  /// answers how they ended; module failures and exceptions are errors.
  /// Default: on the calling thread. Module hosts run them through the
  /// module's actor, one at a time and never beside a hook call.
  virtual caf::expected<void>
  run_lifecycle(const std::string& type, const std::string& name,
                const std::shared_ptr<sdk::module>& instance,
                const std::vector<sdk::lifecycle_step>& steps);
};

class module_catalog {
public:
  module_catalog(const events::event_store& store, append_fn append,
                 std::filesystem::path root);

  /// Sets what module contexts get from now on (before `scan`).
  void set_host_services(host_services services);

  /// Sets who is told when modules start and stop running (before `scan`).
  void set_listener(std::shared_ptr<module_listener> listener);

  /// Replaces a module's configuration (`module.configured`). String values
  /// under secret-looking keys (password, secret, api_key, token) are sealed
  /// before they are recorded, so the log never holds them in clear.
  /// Errors: not_found, invalid_transition (refused module).
  caf::expected<module_status>
  configure(const std::string& type, const std::string& name,
            boost::json::object config, const std::string& actor);

  /// Scans the modules directory, records what changed (new or changed
  /// modules as `module.discovered`, refusals as `module.refused`), and
  /// runs `update()` on active modules whose module.json is newer. A
  /// module's failure is recorded and never stops the scan.
  caf::expected<std::vector<module_status>> scan(const std::string& actor);

  /// Every known module, sorted by type and name.
  std::vector<module_status> list() const;

  /// A module's last recorded configuration, secrets sealed (`not_found`
  /// for a module never discovered).
  caf::expected<boost::json::object> config(const std::string& type,
                                            const std::string& name) const;

  /// Activates a module (runs activate(), and update() after an upgrade).
  /// Errors: not_found (unknown module), invalid_transition (refused
  /// module), module_failure (activate() failed: recorded, stays inactive).
  caf::expected<module_status> activate(const std::string& type,
                                        const std::string& name,
                                        const std::string& actor);

  /// Runs the module's `update(from_version)` when the module.json it was
  /// loaded with is newer than the recorded version (an upgrade whose
  /// update failed at start, or an inactive module upgraded since it last
  /// ran) and records `module.updated`. A new shared object takes a restart
  /// (the scan then runs the new code's update). Errors: not_found,
  /// invalid_transition (refused, never activated, nothing to update, or a
  /// downgrade), module_failure (update() failed: recorded as
  /// `module.activation_failed`).
  caf::expected<module_status> update(const std::string& type,
                                      const std::string& name,
                                      const std::string& actor);

  /// Deactivates a module (runs deactivate()).
  caf::expected<module_status> deactivate(const std::string& type,
                                          const std::string& name,
                                          const std::string& actor);

  /// The loaded object of an active module, or null.
  std::shared_ptr<sdk::module> active_instance(const std::string& type,
                                               const std::string& name) const;

  /// The stream of a module: `module-product-postgres`.
  static std::string stream_of(const std::string& type,
                               const std::string& name);

private:
  struct entry {
    module_status status;
    /// Folded from the stream: whether activated, whether refused now.
    bool active = false;
    bool refused = false;
    /// The last recorded configuration (secrets sealed).
    boost::json::object config;
    sdk::scan_entry loaded;
  };

  /// Applies one of the module's events to `e` (the stream's fold).
  static void apply(entry& e, const std::string& type,
                    const boost::json::object& payload);

  caf::expected<module_status>
  run(const std::string& type, const std::string& name,
      sdk::lifecycle_command command, const std::string& actor);
  caf::error record(entry& e, const std::string& type, std::string payload,
                    const std::string& actor);
  void fold_recorded(entry& e) const;
  /// The entry of a module that loaded (not_found, or invalid_transition
  /// for a refused one). Call with the mutex held.
  caf::expected<entry*> loaded_entry(const std::string& type,
                                     const std::string& name);
  /// Gives the loaded module a context with its current configuration.
  void attach_context(entry& e);
  /// Runs lifecycle steps through the listener (or here, without one).
  caf::expected<void> run_steps(entry& e,
                                const std::vector<sdk::lifecycle_step>& steps);

  host_services services_;
  std::shared_ptr<module_listener> listener_;

  const events::event_store& store_;
  append_fn append_;
  std::filesystem::path root_;
  mutable std::mutex mtx_;
  std::map<std::pair<std::string, std::string>, entry> entries_;
};

} // namespace billow::modules
