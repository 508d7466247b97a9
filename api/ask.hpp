#pragma once

// Asking an actor from a thread that is not an actor's (a blocking-pool
// task, say) without blocking that thread: a short-lived actor makes the
// request and hands the outcome on. It lives while its request is pending
// (CAF keeps an actor with awaited responses alive) and ends after it.

#include <future>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

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

/// As `ask_from_anywhere`, and waits for the outcome: only for threads that
/// may block (the blocking pool, start-up), never an actor's or an I/O
/// thread.
template <class Reply, class Dest, class Timeout, class... Ts>
caf::expected<Reply> ask_and_wait(caf::actor_system& sys, const Dest& dest,
                                  Timeout timeout, Ts... xs) {
  auto outcome = std::make_shared<std::promise<caf::expected<Reply>>>();
  auto done = outcome->get_future();
  ask_from_anywhere<Reply>(
    sys, dest, timeout,
    [outcome](const Reply& r) {
      outcome->set_value(r);
    },
    [outcome](caf::error& err) {
      outcome->set_value(std::move(err));
    },
    std::move(xs)...);
  return done.get();
}

} // namespace billow::api
