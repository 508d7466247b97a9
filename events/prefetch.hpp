#pragma once

// A read of the log that decodes ahead on a helper thread while the caller
// consumes: the long replays (`billow replay`, a projection's catch-up from
// far behind) spend about as long reading and decoding as applying, so on a
// machine with a spare core the two halves overlap.
//
//   helper:  iterate + decode chunk 1 ─ chunk 2 ─ chunk 3 ─ ...   (at most
//   caller:                  apply 1 ─── apply 2 ─── apply 3 ...  `chunks`
//                                                                 ahead)

#include <cstddef>
#include <cstdint>
#include <functional>

#include <caf/error.hpp>

#include "events/envelope.hpp"

namespace billow::events {

class event_store;

/// How far the helper may read ahead of the consumer.
struct prefetch_options {
  /// Envelopes handed over at once.
  size_t chunk_events = 1024;
  /// Chunks decoded but not yet consumed, at most (bounds the memory).
  size_t chunks = 4;
};

/// `event_store::for_each` with the reading and decoding on a helper thread:
/// calls `fn` on the calling thread for each event in [from, to] in log
/// order until it returns false. `fn` sees envelopes that are reused after
/// it returns (copy what you keep). A read error is answered after `fn` has
/// seen every event before it.
caf::error for_each_prefetched(const event_store& store, uint64_t from,
                               uint64_t to,
                               const std::function<bool(const envelope&)>& fn,
                               prefetch_options opts = {});

} // namespace billow::events
