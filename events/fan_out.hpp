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
// The fan-out answers a page once every consumer has answered it, so the
// next page goes to all of them together: the slowest consumer sets the
// pace (each still sees every event, in log order). A consumer that answers
// false, fails or terminates leaves; the fan-out answers false (ending the
// subscription) once none is left.

#include <vector>

#include <caf/fwd.hpp>

#include "events/subscription.hpp"

namespace billow::events {

/// Spawns a fan-out over `consumers`; subscribe it in their place.
subscriber_actor fan_out(caf::actor_system& sys,
                         std::vector<subscriber_actor> consumers);

} // namespace billow::events
