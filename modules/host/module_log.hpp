#pragma once

// Module logs as events: the SDK's `log_info/log_error/log_debug` land as
// `module.log` events in the module's stream (`module-<type>-<name>`),
// besides the spdlog line the context writes itself.
//
//   module code ──write()──► [ bounded queue ] ──kick──► drain actor
//   (any thread,  (redact,     (mutex, no I/O)            │ one append per
//    never waits)  enqueue)                               ▼ stream and round
//                                                       writer (group commit)
//
// Module code never waits for durability: `write` redacts and enqueues, and
// the drain actor sends what is queued to the writer, one round in flight at
// a time (the writer folds a round into its group commits). Memory is
// bounded: the queue holds at most `capacity` records (plus the one round in
// flight, itself at most `capacity`); debug records are dropped once the
// queue is half full (room stays for info and error), every record once it
// is full. Drops are counted per module and recorded with the next
// round as one `module.log_dropped` event {debug, info, error}, so an
// operator sees that lines are missing and how many.
//
// Payload of `module.log`: {level, action, message, context}, where string
// values under secret-looking keys (`sdk::redact_secrets`) in `context` read
// `[redacted]`.

#include <cstddef>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "events/writer.hpp"
#include "modules/sdk/log_sink.hpp"

namespace billow::modules {

/// Counters of an `event_log_sink`.
struct log_sink_stats {
  /// Records taken into the queue.
  uint64_t queued = 0;
  /// Records dropped because the queue was (half) full, by level.
  uint64_t dropped_debug = 0;
  uint64_t dropped_info = 0;
  uint64_t dropped_error = 0;
  /// `module.log` events the writer acknowledged.
  uint64_t appended = 0;
  /// Appends the writer refused (their records are lost; logged).
  uint64_t append_errors = 0;
};

/// The log sink Billow lends module contexts (thread-safe, never throws).
class event_log_sink : public sdk::log_sink {
public:
  /// At most `capacity` records wait for the writer (at least 2).
  event_log_sink(caf::actor_system& sys, events::writer_actor writer,
                 size_t capacity = 8192);
  ~event_log_sink() override;

  event_log_sink(const event_log_sink&) = delete;
  event_log_sink& operator=(const event_log_sink&) = delete;

  void write(const sdk::log_record& record) noexcept override;

  /// Stops the drain actor (before the actor system goes); later records
  /// are counted as dropped.
  void stop();

  log_sink_stats stats() const;

  /// Records queued or in flight to the writer.
  size_t pending() const;

  struct shared;

private:
  std::shared_ptr<shared> shared_;
  caf::actor drain_;
};

} // namespace billow::modules
