#pragma once

// Requests whose answer waits on another actor, each with the time by which
// it must be answered. The front actor keeps one and sweeps it once a second
// while it holds any (504 problem+json for those past their time).
//
// It replaces a CAF request timeout per request: in CAF 0.17.6 each finite
// timeout puts an entry into the clock thread's queue (waking that thread)
// and comes back as a message to the front 30 s later, answered or not;
// here a request costs two map operations on the front's own thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "api/router.hpp"

namespace billow::api {

/// Contexts waiting for another actor's reply, by ticket. Used on the front
/// actor only (not thread-safe).
class pending_answers {
public:
  using clock = std::chrono::steady_clock;

  /// Keeps `ctx` until `take(ticket)` or `deadline`; answers the ticket.
  uint64_t add(request_context ctx, clock::time_point deadline);

  /// The context of `ticket` while it waits (and it waits no more); none
  /// after its deadline passed.
  std::optional<request_context> take(uint64_t ticket);

  /// Takes every context whose deadline is before `now`.
  std::vector<request_context> expire(clock::time_point now);

  /// Runs after each `add` (the front arms its sweep there).
  void on_add(std::function<void()> fn) {
    on_add_ = std::move(fn);
  }

  bool empty() const noexcept {
    return waiting_.empty();
  }

  size_t size() const noexcept {
    return waiting_.size();
  }

private:
  struct entry {
    clock::time_point deadline;
    request_context ctx;
  };

  /// By ticket, so by time of adding (expire walks from the front and stops
  /// at the first that has time left: deadlines of one bound come in order,
  /// and a shorter bound added later only waits for the sweep a little).
  std::map<uint64_t, entry> waiting_;
  uint64_t next_ticket_ = 0;
  std::function<void()> on_add_;
};

} // namespace billow::api
