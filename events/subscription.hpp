#pragma once

// Subscriptions: catch up from a position, then follow the log live, in log
// order, with backpressure.
//
//   writer ──committed(P)──► subscription ──deliver(page)──► subscriber
//     ▲                          │   ▲                          │
//     └─────ready(upto)──────────┘   └──────reply(keep?)────────┘
//
// State machine of a subscription:
//
//   catching_up ──(page delivered and acknowledged, more in the store)──┐
//        ▲  │                                                          │
//        │  └──(cursor passed the last committed position)──► idle ◄──┘
//        └──────────────committed(P), P >= cursor──────────────────────┘
//
// The subscription reads pages from the store and sends the next page only
// after the subscriber answered the previous one. The writer sends at most
// one `committed` note per subscription and sends the next only after
// `ready`: a slow subscriber costs the writer one flag, never a buffer. Live
// and catch-up are the same path: whatever was committed while the
// subscriber was busy is read back from the store.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "events/writer.hpp"

namespace billow::events {

/// What a consumer of a subscription implements: it gets pages of envelopes
/// in log order, without gaps or repeats, and answers `true` to receive more
/// or `false` to end the subscription. The next page comes only after the
/// answer.
using subscriber_actor = caf::typed_actor<
  caf::replies_to<deliver_atom, std::vector<envelope>>::with<bool>>;

/// Tuning of one subscription.
struct subscription_options {
  /// First position to deliver (1 = the whole log).
  uint64_t from_position = 1;
  /// Most envelopes in one `deliver` page.
  size_t page_size = 512;
};

/// Starts a subscription delivering to `subscriber` from
/// `opts.from_position`, first from the store, then live from `writer`'s
/// commits. It ends when the subscriber answers false, terminates, or a read
/// fails (the subscriber then sees the subscription's exit). `store` must
/// outlive it.
subscription_actor subscribe(caf::actor_system& sys, event_store& store,
                             writer_actor writer, subscriber_actor subscriber,
                             subscription_options opts = {});

} // namespace billow::events
