#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "events/uuid.hpp"

namespace billow::events {

/// A 32-byte digest of the hash chain: SHA-256 in envelope format 2,
/// BLAKE2b-256 in format 1 (events/encoding.hpp).
using hash256 = std::array<uint8_t, 32>;

/// One event as an aggregate hands it to `append`: everything the store does
/// not assign itself (position, stream, version, time and hashes).
struct new_event {
  /// Client-chosen id; appending an id that is already stored is a no-op that
  /// answers the original position (idempotent retries).
  uuid event_id;
  /// Dotted type such as `service.suspended`.
  std::string type;
  /// Schema number of `payload` for `type`; upcasters lift old ones on read.
  uint32_t schema = 1;
  /// Who caused it: `admin:<id>`, `client:<id>`, `system`, `module:<t>/<n>`...
  std::string actor;
  /// The event or command that caused this one (nil when none).
  uuid causation_id;
  /// The request that started the chain (nil when none).
  uuid correlation_id;
  /// The payload: the text of one JSON object.
  std::string payload;
};

/// A committed event as it is stored and read back (docs/design.md, "The
/// event log").
struct envelope {
  /// Global, gapless, strictly increasing position in the log; starts at 1.
  uint64_t position = 0;
  /// The aggregate's stream id, e.g. `service-<uuid>`.
  std::string stream;
  /// 1-based version of this event within `stream`.
  uint64_t version = 0;
  std::string type;
  uint32_t schema = 1;
  uuid event_id;
  /// Commit wall-clock time in microseconds since the Unix epoch; never
  /// decreases along the log.
  int64_t time_us = 0;
  std::string actor;
  uuid causation_id;
  uuid correlation_id;
  /// `hash` of the envelope at `position - 1` (all zeros for position 1).
  hash256 prev_hash{};
  /// The digest of this envelope's encoding (everything before the hash),
  /// by the algorithm of its format.
  hash256 hash{};
  /// JSON object text.
  std::string payload;
};

/// What a successful append answers.
struct append_result {
  /// Position of the first and last event of the append.
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  /// The stream's version after the append (its last event's version).
  uint64_t version = 0;
  /// True when every event id was already stored: nothing was written and
  /// the positions are the original ones.
  bool duplicate = false;

  friend bool operator==(const append_result&, const append_result&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_event& x) {
  return f(x.event_id, x.type, x.schema, x.actor, x.causation_id,
           x.correlation_id, x.payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, envelope& x) {
  return f(x.position, x.stream, x.version, x.type, x.schema, x.event_id,
           x.time_us, x.actor, x.causation_id, x.correlation_id, x.prev_hash,
           x.hash, x.payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_result& x) {
  return f(x.first_position, x.last_position, x.version, x.duplicate);
}

} // namespace billow::events
