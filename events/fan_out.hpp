#pragma once

// One subscription for several consumers: the fan-out is the subscription's
// subscriber and hands each page on to every consumer, so the log is read
// and decoded once for all of them instead of once each.
//
//   subscription ──deliver(page)──► fan-out ──deliver(page)──► consumer 1
//        ▲                            │  ▲   (the same page,  ► consumer 2
//        └──────reply(keep?)──────────┘  └── shared, not      ► ...
//                                            copied)
//
// Each consumer sees every event, in log order. The fan-out answers a page
// (and so takes the next) while no consumer has `fan_out_window` pages
// unanswered: a consumer busy for a while (a projection committing) falls
// behind by a few pages instead of holding up the others, and the slowest
// still bounds the pace and the pages held in memory. A consumer that
// answers false, fails or terminates leaves (pages already on their way to
// it still arrive); the fan-out answers false (ending the subscription) once
// none is left.

#include <cstddef>
#include <vector>

#include <caf/fwd.hpp>

#include "events/subscription.hpp"

namespace billow::events {

/// How many pages a consumer may have unanswered before the fan-out waits
/// for it (up to this many times `subscription_options::page_size` events
/// in its mailbox).
constexpr size_t fan_out_window = 8;

/// Spawns a fan-out over `consumers`; subscribe it in their place.
subscriber_actor fan_out(caf::actor_system& sys,
                         std::vector<subscriber_actor> consumers);

} // namespace billow::events
