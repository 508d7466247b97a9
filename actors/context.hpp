#pragma once

#include <cstddef>
#include <cstdint>

#include <caf/actor.hpp>

#include "events/writer.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::actors {

class clock;
class worker_pool;
class module_port;
class runtime_metrics;

/// Tuning shared by every aggregate.
struct aggregate_options {
  /// Save a snapshot once this many events were applied since the last one
  /// (0: never).
  uint64_t snapshot_every = 100;
  /// Idempotency keys remembered per aggregate (the most recent ones).
  size_t remembered_keys = 8;
};

/// What every actor of the runtime is wired to. All pointers must outlive
/// the actors.
struct runtime_context {
  /// Reads (rehydration, recovery); appends go through `writer`.
  events::event_store* store = nullptr;
  /// The single group-commit writer.
  events::writer_actor writer;
  /// The injected clock: every timer.
  actors::clock* clock = nullptr;
  /// Blocking module code runs here.
  worker_pool* pool = nullptr;
  /// The module port (may be null when no module is loaded).
  module_port* modules = nullptr;
  /// Saves snapshots off the scheduler threads (make_snapshot_writer).
  caf::actor snapshots;
  aggregate_options aggregates;
  /// Prometheus figures (actors/runtime.hpp); none when null.
  runtime_metrics* metrics = nullptr;
};

/// Spawns the detached actor that stores snapshots
/// (`snapshot_atom, std::string stream, uint64_t version, std::string bytes`).
caf::actor make_snapshot_writer(caf::actor_system& sys,
                                events::event_store& store);

} // namespace billow::actors
