#pragma once

#include "events/subscription.hpp"

namespace billow::events {

/// A subscription's position in the log and its flow-control flags.
struct subscription_state {
  static inline const char* name = "billow.event_subscription";

  event_store* store = nullptr;
  writer_actor writer;
  subscriber_actor subscriber;
  subscription_options opts;
  /// Next position to deliver.
  uint64_t cursor = 1;
  /// Highest position known to be committed.
  uint64_t committed = 0;
  /// True while a page waits for the subscriber's answer.
  bool awaiting_subscriber = false;
};

} // namespace billow::events
