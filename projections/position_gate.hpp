#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace billow::projections {

/// The log position a read model has applied, which readers can wait for
/// (`?min_position=`, a login waiting for an account created just before)
/// without polling.
class position_gate {
public:
  uint64_t position() const noexcept {
    return position_.load(std::memory_order_acquire);
  }

  /// Sets the position (a rebuild sets it back to 0) and wakes the waiters.
  void set(uint64_t pos) {
    {
      std::lock_guard guard{mtx_};
      position_.store(pos, std::memory_order_release);
    }
    waiters_.notify_all();
  }

  /// Moves the position forward to `pos` (never back) and wakes the
  /// waiters.
  void raise(uint64_t pos) {
    if (pos > position())
      set(pos);
  }

  /// Waits until `position() >= pos` or `timeout` passed; true when reached.
  bool wait_for(uint64_t pos, std::chrono::milliseconds timeout) const {
    if (position() >= pos)
      return true;
    std::unique_lock guard{mtx_};
    return waiters_.wait_for(guard, timeout, [&] {
      return position() >= pos;
    });
  }

private:
  std::atomic<uint64_t> position_{0};
  mutable std::mutex mtx_;
  mutable std::condition_variable waiters_;
};

} // namespace billow::projections
