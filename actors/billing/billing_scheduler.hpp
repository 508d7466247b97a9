#pragma once

// The billing scheduler (docs/design.md, "Billing"): an actor on the
// injectable clock that finds what is due and sends the commands that do it
// to the client's account actor. It keeps no state the log does not have:
// what is due comes from `plan` (the billing projection, api/billing_plan),
// and every command it sends has a deterministic identity, so a second run
// at the same time, or a run repeated after a crash, writes nothing.
//
//   run(now) ──plan(now)──► renewals ──invoice.renewal──► registry ──► account
//            ◄── counts of what was written (a repeat counts nothing)
//
// Built: invoice-mode renewals. Not yet: reminders, late fees, overdue
// suspension and termination, prepaid charges (their counts stay 0).
//
// On the system clock it runs by itself every `every`; on a manual clock it
// runs when asked (the clock's advance asks).

#include <cstdint>
#include <functional>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/billing/billing.hpp"
#include "actors/billing/renewals.hpp"
#include "actors/clock.hpp"

namespace billow::billing {

using billing_run_atom = caf::atom_constant<caf::atom("bill_run")>;
using billing_tick_atom = caf::atom_constant<caf::atom("bill_tick")>;

/// What a run did (docs/api.md, `POST /billing/run`).
struct run_counts {
  uint64_t invoices_issued = 0;
  uint64_t charges = 0;
  uint64_t reminders = 0;
  uint64_t suspended = 0;
  uint64_t unsuspended = 0;
  uint64_t terminated = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_counts& x) {
  return f(x.invoices_issued, x.charges, x.reminders, x.suspended,
           x.unsuspended, x.terminated);
}

/// What the run at a clock reading would do.
struct run_plan {
  std::vector<renewal> renewals;
};

struct scheduler_options {
  /// What is due at `now_us` (may block: it waits for the read model to
  /// reach the log's head, so it runs on the scheduler's own thread).
  std::function<caf::expected<run_plan>(int64_t now_us)> plan;
  billing_registry_actor registry;
  /// How often it runs by itself on the system clock (0: never).
  actors::duration every = std::chrono::hours(1);
};

using billing_scheduler_actor = caf::typed_actor<
  /// Runs what is due at the clock's now; runs one after the other.
  caf::replies_to<billing_run_atom>::with<run_counts>,
  /// The system clock's timer: a run by itself.
  caf::reacts_to<billing_tick_atom>>;

/// Spawns the scheduler (detached: `plan` may block) on `clock`, which must
/// outlive it.
billing_scheduler_actor make_billing_scheduler(caf::actor_system& sys,
                                               actors::clock& clock,
                                               scheduler_options opts);

} // namespace billow::billing
