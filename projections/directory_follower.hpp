#pragma once

// What the in-memory directories (admins, clients) share: reading every
// event of one type up to a position through the type index, and the actor
// that applies what a subscription (or a fan-out) delivers from the next
// position on.

#include <cstdint>
#include <functional>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "events/envelope.hpp"
#include "events/subscription.hpp"
#include "events/writer.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::projections {

/// Calls `apply` with every event of `type` up to position `last`, in log
/// order, through the type index (without scanning the log).
caf::error
replay_type(const events::event_store& store, std::string_view type,
            uint64_t last,
            const std::function<void(const events::envelope&)>& apply);

/// A subscriber actor that calls `apply` with each event delivered to it;
/// subscribe it (or a fan-out over it) to follow the log. Send it an exit
/// message to stop.
events::subscriber_actor
log_follower(caf::actor_system& sys,
             std::function<void(const events::envelope&)> apply);

} // namespace billow::projections
