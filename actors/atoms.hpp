#pragma once

// The message vocabulary of actors/. Kept in billow::actors and spelled
// differently from CAF's own atoms (`open`, `get`, `tick`, ... already exist
// in namespace caf): never import `caf` wholesale.

#include <caf/atom.hpp>

namespace billow::actors {

// -- aggregates and the registry ----------------------------------------------

/// Opens a new service (an order): stream `service-<uuid>` starts.
using svc_open_atom = caf::atom_constant<caf::atom("svc_open")>;
/// A lifecycle command for a service (create, suspend, ...).
using svc_cmd_atom = caf::atom_constant<caf::atom("svc_cmd")>;
/// The same command, answered with the service as the command left it.
using svc_cmd_view_atom = caf::atom_constant<caf::atom("svc_cmdv")>;
/// A command for a client or a product (create, erase).
using ent_cmd_atom = caf::atom_constant<caf::atom("ent_cmd")>;
/// Asks an aggregate for its current state.
using query_atom = caf::atom_constant<caf::atom("b_query")>;
/// Registry -> aggregate: go away once idle (state stays in the log).
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
/// Registry's clock timer: passivate what has been idle long enough.
using sweep_atom = caf::atom_constant<caf::atom("b_sweep")>;
/// Aggregate actor -> its registry, as it ends: drop it from the live index.
using agg_down_atom = caf::atom_constant<caf::atom("agg_down")>;
/// Asks a registry or manager for its counters.
using stats_atom = caf::atom_constant<caf::atom("b_stats")>;
/// Rebuild in-flight work after a restart.
using recover_atom = caf::atom_constant<caf::atom("b_recover")>;
/// Aggregate -> itself / registry: re-check pending work after rehydration.
using resume_atom = caf::atom_constant<caf::atom("b_resume")>;
/// Snapshot writer: store (stream, version, bytes).
using snapshot_atom = caf::atom_constant<caf::atom("snap_save")>;

// -- jobs
// -----------------------------------------------------------------------

/// Adds a job (deduplicated).
using job_add_atom = caf::atom_constant<caf::atom("job_add")>;
/// A job's current view.
using job_get_atom = caf::atom_constant<caf::atom("job_get")>;
/// Retries a failed job by command.
using job_retry_atom = caf::atom_constant<caf::atom("job_retry")>;
/// Answers once a job is completed or failed.
using job_await_atom = caf::atom_constant<caf::atom("job_await")>;
/// A job reached a terminal state (to its owner's sink and the manager).
using job_done_atom = caf::atom_constant<caf::atom("job_done")>;
/// Registers the actor that receives `job_done` for jobs with an owner.
using job_sink_atom = caf::atom_constant<caf::atom("job_sink")>;
/// Worker thread -> job: an attempt finished.
using attempt_done_atom = caf::atom_constant<caf::atom("att_done")>;
/// Worker thread -> job: the attempt left the pool's queue and runs now
/// (its timeout counts from here).
using attempt_begun_atom = caf::atom_constant<caf::atom("att_begun")>;
/// Clock -> job: an attempt ran out of time.
using attempt_timeout_atom = caf::atom_constant<caf::atom("att_tmo")>;
/// Clock -> job: the backoff is over; start the next attempt.
using job_wake_atom = caf::atom_constant<caf::atom("job_wake")>;
/// Manager -> job: begin or resume work.
using job_start_atom = caf::atom_constant<caf::atom("job_start")>;

// -- scheduler
// --------------------------------------------------------------------

/// Adds or updates a named schedule.
using sched_set_atom = caf::atom_constant<caf::atom("sch_set")>;
/// Clock -> scheduler: a schedule is due.
using sched_tick_atom = caf::atom_constant<caf::atom("sch_tick")>;
/// Lists the schedules.
using sched_list_atom = caf::atom_constant<caf::atom("sch_list")>;

} // namespace billow::actors
