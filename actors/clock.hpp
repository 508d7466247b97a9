#pragma once

// The one injectable clock of the actor runtime (docs/design.md, "Actors").
//
// Every timer in actors/ (job backoff and attempt timeouts, passivation,
// schedules, later billing) goes through a `clock`: `now()` tells the time and
// `schedule(at, fn)` runs `fn` once the clock reaches `at`. Callbacks are
// meant to be tiny and non-blocking: they send a message to an actor
// (`actors/timer.hpp` has the helper) and return.
//
// Two implementations:
// - `system_clock`: wall-clock time, timers fired by one internal thread;
// - `manual_clock`: time stands still until `advance(d)` (tests, and
//   `billow serve --clock=manual` with its advance command), which fires every
//   timer due up to the new time in time order (ties in scheduling order),
//   setting `now()` to each timer's time while it fires.
//
// This header is free of CAF on purpose.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

namespace billow::actors {

/// A point in time: microseconds since the Unix epoch.
using time_point = std::chrono::time_point<std::chrono::system_clock,
                                           std::chrono::microseconds>;

/// A span of time with microsecond resolution.
using duration = std::chrono::microseconds;

/// Identifies a scheduled timer for `cancel`; never 0.
using timer_id = uint64_t;

/// Microseconds since the epoch of `t` (the event store's time unit).
inline int64_t to_us(time_point t) noexcept {
  return t.time_since_epoch().count();
}

/// The time point `us` microseconds after the epoch.
inline time_point from_us(int64_t us) noexcept {
  return time_point{duration{us}};
}

/// The injectable clock. Thread-safe.
class clock {
public:
  virtual ~clock() = default;

  /// The current time.
  virtual time_point now() const = 0;

  /// Runs `fn` once the clock reaches `at`, on the timer thread (system) or
  /// the advancing thread (manual); a manual clock runs a timer that is
  /// already due at once, on the calling thread. Returns an id for `cancel`.
  virtual timer_id schedule(time_point at, std::function<void()> fn) = 0;

  /// Drops a timer that has not fired yet; a no-op otherwise.
  virtual void cancel(timer_id id) = 0;

  /// Timers not fired yet.
  virtual size_t pending() const = 0;

  /// True for `manual_clock`.
  virtual bool is_manual() const noexcept {
    return false;
  }

  /// Current time in microseconds since the epoch (for `store_options`).
  int64_t now_us() const {
    return to_us(now());
  }
};

/// Which clock `make_clock` builds (`billow serve --clock=system|manual`).
enum class clock_kind : uint8_t { system, manual };

/// Parses `system` or `manual`.
std::optional<clock_kind> parse_clock_kind(std::string_view text);

/// Timers kept in time order, shared by both implementations.
class timer_queue {
public:
  timer_id add(time_point at, std::function<void()> fn);
  bool remove(timer_id id);
  /// Removes and returns the earliest timer due at or before `t`.
  std::optional<std::pair<time_point, std::function<void()>>>
  pop_due(time_point t);
  std::optional<time_point> earliest() const;
  size_t size() const noexcept {
    return by_time_.size();
  }

private:
  using key = std::pair<time_point, timer_id>;
  std::map<key, std::function<void()>> by_time_;
  std::map<timer_id, time_point> by_id_;
  timer_id next_id_ = 1;
};

/// Wall-clock time; timers fire on one internal thread.
class system_clock final : public clock {
public:
  system_clock();
  ~system_clock() override;
  system_clock(const system_clock&) = delete;
  system_clock& operator=(const system_clock&) = delete;

  time_point now() const override;
  timer_id schedule(time_point at, std::function<void()> fn) override;
  void cancel(timer_id id) override;
  size_t pending() const override;

private:
  void run();

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  timer_queue timers_;
  bool stop_ = false;
  std::thread thread_;
};

/// Time that moves only when told to.
class manual_clock final : public clock {
public:
  /// Starts at `start` (by default 2023-11-14T22:13:20Z, 1.7e9 s).
  explicit manual_clock(time_point start = from_us(1'700'000'000'000'000));

  time_point now() const override;
  timer_id schedule(time_point at, std::function<void()> fn) override;
  void cancel(timer_id id) override;
  size_t pending() const override;
  bool is_manual() const noexcept override {
    return true;
  }

  /// Moves time forward by `d`, firing every timer due on the way in time
  /// order; `now()` equals each timer's time while it fires and `start + d`
  /// afterwards. Returns the number of timers fired. Concurrent calls are
  /// serialized.
  size_t advance(duration d);

  /// Moves time forward to `t` (no-op when `t` is not later than now).
  size_t advance_to(time_point t);

  /// Blocks until at least `n` timers are pending or `real_timeout` of real
  /// time passed; true in the first case. Lets a test advance only once the
  /// actors have set their timers, without sleeping for a guessed time.
  bool wait_for_pending(size_t n, std::chrono::milliseconds real_timeout);

  /// The earliest pending timer's time.
  std::optional<time_point> next_timer() const;

private:
  mutable std::mutex mtx_;
  std::mutex advance_mtx_;
  std::condition_variable cv_;
  time_point now_;
  timer_queue timers_;
};

/// Makes the clock `billow serve --clock=KIND` runs on.
std::unique_ptr<clock> make_clock(clock_kind kind);

/// Advances `c` by `d` when it is a manual clock (the integrator's HTTP/CLI
/// advance command); fails with `false` on a system clock. (Not
/// named `advance`: that would meet `std::advance` by ADL.)
bool advance_clock(clock& c, duration d);

} // namespace billow::actors
