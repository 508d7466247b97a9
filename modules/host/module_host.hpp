#pragma once

// Module instances as actors: one module host actor per active module,
// spawned when the module is activated (or found active at start-up) and
// stopped when it is deactivated or Billow shuts down. It owns the module's
// hook delivery (the seed's hooks.php).
//
// Hooks: a module receives each committed event whose type is in its
// `hooks()`, in log order, at least once, with its position. Each module has
// its own cursor, the checkpoint `hooks.<type>.<name>` (the last position
// delivered), saved after each successful delivery, so a restart resumes
// after it; only the event in flight at a crash can arrive twice.
//
//   writer ──committed(P)──► host ──ready(P)──► writer   (at once: a busy
//                              │                          host costs the
//                              │ type-index reads         writer one flag)
//                              ▼ from the cursor
//                        pending events ──one at a time──► worker pool:
//                              ▲                            on_event(ev),
//                              │                            save checkpoint
//                              └────── hook_done(pos, ok | error) ◄──┘
//
// State machine of one host:
//
//   idle ──committed, events of its types after the cursor──► delivering
//     ▲                                                          │ │
//     └──────────────── ok, nothing left ◄───────────────────────┘ │
//                                          error / exception ──────┘
//                                          [module.hook_failed] ──► waiting
//   waiting ──clock reaches retry time──► delivering (the same event again)
//
// A failing hook is retried with exponential backoff on the injected clock
// (first_backoff, doubling, at most max_backoff), forever: skipping would
// break at-least-once. Each failure is a `module.hook_failed` event
// {position, event_type, event_stream, attempt, kind (error | exception |
// timeout), error, retry_at_us} in the module's stream. A call that runs
// longer than `timeout` is given up (its worker replaced) and retried. Hook
// calls run on the worker pool, never on CAF's threads; one module's slow or
// failing hook holds only its own host (other modules' hosts keep going, the
// writer never waits): it falls behind and catches up from the store. A
// module's own `module.log`, `module.log_dropped` and `module.hook_failed`
// events are never delivered to itself (a hook that logs would otherwise feed
// itself).
//
// The host also serialises the module's lifecycle calls (activate, update,
// deactivate): they run on the worker pool, one at a time, never beside a
// hook call; after a deactivation no hook runs again.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/clock.hpp"
#include "events/writer.hpp"
#include "modules/host/module_catalog.hpp"

namespace billow::actors {
class worker_pool;
} // namespace billow::actors

namespace billow::modules {

/// Tuning of hook delivery.
struct hook_options {
  /// Wait before the second attempt of a failed hook; doubles per attempt.
  actors::duration first_backoff = std::chrono::seconds(1);
  /// The longest wait between attempts.
  actors::duration max_backoff = std::chrono::minutes(5);
  /// How long one hook call may run (from its hand-off to the pool); then
  /// its worker is abandoned and the call counts as failed (`timeout`).
  actors::duration timeout = std::chrono::seconds(60);
  /// Events read per type and round from the type index.
  size_t page_size = 256;
};

/// What every host actor is wired to; all pointers must outlive the hosts.
struct host_context {
  events::event_store* store = nullptr;
  events::writer_actor writer;
  actors::clock* clock = nullptr;
  actors::worker_pool* pool = nullptr;
  hook_options options;
};

/// Counters of one module's hooks (they outlive its host actor).
struct hook_counters {
  /// Events delivered successfully.
  std::atomic<uint64_t> delivered{0};
  /// Failed attempts (each one a `module.hook_failed`).
  std::atomic<uint64_t> failures{0};
  /// The last position delivered successfully.
  std::atomic<uint64_t> last_position{0};
};

/// Spawns, tracks and stops the module host actors; the catalog tells it
/// when modules start and stop running. Thread-safe.
class module_hosts : public module_listener {
public:
  module_hosts(caf::actor_system& sys, host_context ctx);
  /// Calls `stop_all`: destroy it before the actor system, or call
  /// `stop_all` first.
  ~module_hosts() override;

  module_hosts(const module_hosts&) = delete;
  module_hosts& operator=(const module_hosts&) = delete;

  /// Spawns the module's host (replacing one over an older instance). A
  /// `fresh` activation starts the hooks at the log's end; otherwise they
  /// resume after the module's checkpoint (or at the end when it has none).
  void started(const std::string& type, const std::string& name,
               const std::shared_ptr<sdk::module>& instance,
               bool fresh) override;

  /// Stops the module's host; its cursor stays for a later start-up.
  void stopped(const std::string& type, const std::string& name) override;

  /// Runs lifecycle steps through the module's host (spawned for them when
  /// the module has none yet): on the worker pool, after the hook call in
  /// flight, before the next one. After a successful deactivation the host
  /// delivers no more hooks. Blocks its caller: never call it from an actor.
  caf::expected<void>
  run_lifecycle(const std::string& type, const std::string& name,
                const std::shared_ptr<sdk::module>& instance,
                const std::vector<sdk::lifecycle_step>& steps) override;

  /// Stops every host and waits for them (shutdown, before the actor system
  /// and the worker pool go; not from a CAF thread). Later starts are
  /// ignored.
  void stop_all();

  /// The module's host actor, or null when it does not run.
  caf::actor host_of(const std::string& type, const std::string& name) const;

  /// Host actors running now.
  size_t size() const;

  /// The module's hook counters (created on first use).
  std::shared_ptr<hook_counters> counters(const std::string& type,
                                          const std::string& name);

  /// The checkpoint holding a module's hook cursor: `hooks.<type>.<name>`.
  static std::string checkpoint_of(const std::string& type,
                                   const std::string& name);

  struct lifecycle_call;
  struct inbox;

private:
  struct running {
    caf::actor handle;
    std::shared_ptr<sdk::module> instance;
    std::shared_ptr<inbox> calls;
    /// False for a host spawned only to run lifecycle calls.
    bool with_hooks = false;
  };

  /// Spawns a host (mutex held), replacing the one there.
  running& spawn(const std::string& type, const std::string& name,
                 const std::shared_ptr<sdk::module>& instance,
                 std::vector<std::string> hooks, uint64_t cursor);
  using key = std::pair<std::string, std::string>;

  caf::actor_system& sys_;
  host_context ctx_;
  mutable std::mutex mtx_;
  bool stopped_ = false;
  std::map<key, running> hosts_;
  std::map<key, std::shared_ptr<hook_counters>> counters_;
};

} // namespace billow::modules
