#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "events/writer.hpp"

namespace prometheus {
class Counter;
class Histogram;
} // namespace prometheus

namespace billow::events {

/// Sync mode: the appends of one flush, written and waiting for an fsync.
struct written_group {
  /// The written head right after this group: an fsync up to at least this
  /// position covers it.
  uint64_t upto = 0;
  std::vector<caf::typed_response_promise<append_result>> promises;
  std::vector<caf::expected<append_result>> results;
  std::chrono::steady_clock::time_point since;
};

/// Sync mode: what the writer and its syncer share.
struct writer_sync_shared {
  /// The written head the next fsync must cover (set by the writer).
  std::atomic<uint64_t> written{0};
  /// The head the last fsync covered.
  std::atomic<uint64_t> synced{0};
  /// True while the syncer waits for a wake-up. Whoever turns it off (the
  /// writer waking the syncer or fsyncing itself, or the syncer going on)
  /// owns the next fsync, so two never run at once.
  std::atomic<bool> idle{true};
};

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

  /// Sync mode: the groups written and not yet answered, in order.
  std::deque<written_group> unsynced;
  /// Sync mode: how many appenders the writer expects back with their next
  /// append: those it answered last plus those written since. It fsyncs on
  /// its own thread only once they are all written.
  size_t expected_back = 0;
  std::shared_ptr<writer_sync_shared> shared;
  syncer_actor syncer;

  prometheus::Counter* appends = nullptr;
  prometheus::Counter* events_appended = nullptr;
  prometheus::Counter* errors = nullptr;
  prometheus::Histogram* batch_appends = nullptr;
  prometheus::Histogram* commit_seconds = nullptr;
};

} // namespace billow::events
