#pragma once

#include <chrono>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "events/writer.hpp"

namespace prometheus {
class Counter;
class Histogram;
} // namespace prometheus

namespace billow::events {

/// The writer's state: the appends of the current round and the
/// subscriptions it notifies.
struct writer_state {
  static inline const char* name = "billow.event_writer";

  /// One registered subscription and its flow-control state.
  struct subscriber {
    subscription_actor handle;
    /// True while a `committed` message is unanswered: no second one is sent,
    /// so the writer buffers at most one message per subscription.
    bool in_flight = false;
    /// Last position the subscription reported delivered.
    uint64_t acked = 0;
  };

  event_store* store = nullptr;
  writer_options opts;
  std::vector<append_request> requests;
  std::vector<caf::typed_response_promise<append_result>> promises;
  bool flush_scheduled = false;
  std::vector<subscriber> subscribers;

  /// Sync mode: appends written but not yet covered by an fsync.
  std::vector<caf::typed_response_promise<append_result>> unsynced_promises;
  std::vector<caf::expected<append_result>> unsynced_results;
  std::chrono::steady_clock::time_point unsynced_since;
  /// Sync mode: true while the syncer runs an fsync.
  bool sync_in_flight = false;
  /// Sync mode: how many appenders the writer expects back with their next
  /// append: those it answered last plus those written since. It fsyncs on
  /// its own thread only once they are all written.
  size_t expected_back = 0;
  syncer_actor syncer;

  prometheus::Counter* appends = nullptr;
  prometheus::Counter* events_appended = nullptr;
  prometheus::Counter* errors = nullptr;
  prometheus::Histogram* batch_appends = nullptr;
  prometheus::Histogram* commit_seconds = nullptr;
};

} // namespace billow::events
