#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace billow::projections {

/// The log position a read model has applied, which readers can wait for
/// (`?min_position=`, a login waiting for an account created just before)
/// without polling: blocking (`wait_for`, for threads that may block, such
/// as module code on the worker pool) or with a callback run once the
/// position is reached (`add_waiter`, for requests, which must not hold a
/// thread while they wait; api/read_waits.hpp adds their deadline).
class position_gate {
public:
  /// A ticket for `cancel`; never 0.
  using ticket = uint64_t;

  uint64_t position() const noexcept {
    return position_.load(std::memory_order_acquire);
  }

  /// Sets the position (a rebuild sets it back to 0), wakes the blocked
  /// waiters and runs the callbacks waiting for `pos` or less, on this
  /// thread, after the gate's lock is released (they should be short: hand
  /// the work on).
  void set(uint64_t pos) {
    std::vector<std::function<void()>> due;
    {
      std::lock_guard guard{mtx_};
      position_.store(pos, std::memory_order_release);
      while (!callbacks_.empty() && callbacks_.begin()->first.first <= pos) {
        auto i = callbacks_.begin();
        tickets_.erase(i->first.second);
        due.push_back(std::move(i->second));
        callbacks_.erase(i);
      }
    }
    waiters_.notify_all();
    for (auto& fn : due)
      fn();
  }

  /// Moves the position forward to `pos` (never back) and wakes the
  /// waiters.
  void raise(uint64_t pos) {
    if (pos > position())
      set(pos);
  }

  /// Waits until `position() >= pos` or `timeout` passed; true when reached.
  /// Holds the calling thread: not for request handlers (`add_waiter`).
  bool wait_for(uint64_t pos, std::chrono::milliseconds timeout) const {
    if (position() >= pos)
      return true;
    std::unique_lock guard{mtx_};
    return waiters_.wait_for(guard, timeout, [&] {
      return position() >= pos;
    });
  }

  /// Keeps `fn` to run once `position() >= pos` (on the thread that moves
  /// the position there) and answers its ticket; answers 0 and drops `fn`
  /// without running it when the position is there already. A callback
  /// runs at most once; `cancel` drops it.
  ticket add_waiter(uint64_t pos, std::function<void()> fn) const {
    std::lock_guard guard{mtx_};
    if (position() >= pos)
      return 0;
    auto t = ++last_ticket_;
    callbacks_.emplace(std::pair{pos, t}, std::move(fn));
    tickets_.emplace(t, pos);
    return t;
  }

  /// Drops the callback of `t` unless it has run (or is running); true when
  /// it was dropped, so it never runs.
  bool cancel(ticket t) const {
    std::function<void()> dropped; // destroyed after the lock is released
    std::lock_guard guard{mtx_};
    auto i = tickets_.find(t);
    if (i == tickets_.end())
      return false;
    auto j = callbacks_.find(std::pair{i->second, t});
    dropped = std::move(j->second);
    callbacks_.erase(j);
    tickets_.erase(i);
    return true;
  }

  /// Callbacks waiting.
  size_t waiting() const {
    std::lock_guard guard{mtx_};
    return callbacks_.size();
  }

private:
  std::atomic<uint64_t> position_{0};
  mutable std::mutex mtx_;
  mutable std::condition_variable waiters_;
  /// By the position they wait for, then ticket (the order they came in).
  mutable std::map<std::pair<uint64_t, ticket>, std::function<void()>>
    callbacks_;
  mutable std::unordered_map<ticket, uint64_t> tickets_;
  mutable ticket last_ticket_ = 0;
};

} // namespace billow::projections
