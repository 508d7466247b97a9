#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "events/fwd.hpp"

namespace billow::events {

/// Rewrites a payload of one schema into the next one's shape.
using upcast_fn
  = std::function<caf::expected<std::string>(std::string_view payload)>;

/// As `upcast_fn`, for a step that also needs the rest of the event (its
/// stream, say): it reads `x.payload` and answers the new payload.
using upcast_envelope_fn
  = std::function<caf::expected<std::string>(const envelope& x)>;

/// Registry of payload upcasters, keyed by (type, from schema). Applied on
/// read, so events stored under an old schema keep loading after a payload
/// changes shape; the stored bytes (and the hash chain) never change.
///
/// Register all upcasters before the store serves reads; the registry is not
/// synchronized for writes during reads.
class upcaster_registry {
public:
  /// Registers `fn` lifting `type` payloads from schema `from` to `to`.
  /// Refuses `to <= from` and a second upcaster for the same (type, from).
  caf::error add(std::string type, uint32_t from, uint32_t to, upcast_fn fn);

  /// As above, for a step that reads the whole event.
  caf::error add(std::string type, uint32_t from, uint32_t to,
                 upcast_envelope_fn fn);

  /// Lifts `x` through every registered step for its type, updating its
  /// payload and schema. Each result must be a JSON object (checked with
  /// simdjson); a failing upcaster yields its error.
  caf::error apply(envelope& x) const;

  /// True when no upcaster is registered (reads skip the lookup).
  bool empty() const noexcept {
    return steps_.empty();
  }

private:
  struct step {
    uint32_t to;
    upcast_envelope_fn fn;
  };
  std::map<std::pair<std::string, uint32_t>, step, std::less<>> steps_;
};

} // namespace billow::events
