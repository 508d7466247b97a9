#pragma once

// The scheduler: named periodic work (plugins, billing later) on the
// injected clock, with every run recorded in the stream `scheduler`.
//
//   sched_set(name, interval, target) ──[schedule.set]──► armed
//   armed ──clock reaches last_due + interval──► running: request(target,
//         sched_tick, name, due_us)
//   running ──target answers──[schedule.ran {name, due_us}]──► armed (next)
//   running ──target fails──► armed, same due (tried again next interval)
//
// A run is identified by its due time. It is recorded only after the target
// answered, so a restart between the two runs it again with the same due
// time (at-least-once; the target dedupes by due_us) and never skips it; a
// recorded run is never run again. Runs missed while the process was down
// are run one after the other, each once.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/context.hpp"

namespace billow::actors {

/// One schedule as `sched_list` shows it.
struct schedule_view {
  std::string name;
  uint64_t interval_s = 0;
  /// Due time of the last recorded run (0: none yet); us since the epoch.
  int64_t last_due_us = 0;
  /// Due time of the next run.
  int64_t next_due_us = 0;
  uint64_t runs = 0;
};

/// The scheduler's interface. A target receives
/// `sched_tick_atom, std::string name, int64_t due_us` and answers `true`
/// once the run's work is done (an error leaves the run unrecorded).
using scheduler_actor = caf::typed_actor<
  /// Adds a schedule (or changes its interval) and attaches the in-process
  /// target (targets are attached again after every start). Answers the
  /// scheduler stream's version.
  caf::replies_to<sched_set_atom, std::string, uint64_t,
                  caf::actor>::with<uint64_t>,
  /// Clock -> scheduler: the named schedule may be due.
  caf::reacts_to<sched_tick_atom, std::string>,
  caf::replies_to<sched_list_atom>::with<std::vector<schedule_view>>>;

/// Spawns the scheduler over `ctx` (which must outlive it).
scheduler_actor make_scheduler(caf::actor_system& sys,
                               const runtime_context& ctx);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, schedule_view& x) {
  return f(x.name, x.interval_s, x.last_due_us, x.next_due_us, x.runs);
}

} // namespace billow::actors
