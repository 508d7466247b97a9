#pragma once

// Asking an actor from a thread that is not an actor's (a blocking-pool
// task, say) without blocking that thread: a short-lived actor makes the
// request and hands the outcome on. It lives while its request is pending
// (CAF keeps an actor with awaited responses alive) and ends after it.

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace billow::api {

/// Requests `xs...` of `dest` within `timeout`, then runs `on_reply(reply)`
/// or `on_error(caf::error&)` on CAF's scheduler.
template <class Reply, class Dest, class Timeout, class OnReply, class OnError,
          class... Ts>
void ask_from_anywhere(caf::actor_system& sys, const Dest& dest,
                       Timeout timeout, OnReply on_reply, OnError on_error,
                       Ts... xs) {
  sys.spawn([=](caf::event_based_actor* self) mutable {
    self->request(dest, timeout, std::move(xs)...)
      .then(
        [on_reply](const Reply& r) {
          on_reply(r);
        },
        [on_error](caf::error& err) {
          on_error(err);
        });
  });
}

} // namespace billow::api
