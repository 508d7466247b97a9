#include "actors/clock.hpp"

namespace billow::actors {

std::optional<clock_kind> parse_clock_kind(std::string_view text) {
  if (text == "system")
    return clock_kind::system;
  if (text == "manual")
    return clock_kind::manual;
  return std::nullopt;
}

// -- timer_queue --------------------------------------------------------------

timer_id timer_queue::add(time_point at, std::function<void()> fn) {
  auto id = next_id_++;
  by_time_.emplace(key{at, id}, std::move(fn));
  by_id_.emplace(id, at);
  return id;
}

bool timer_queue::remove(timer_id id) {
  auto i = by_id_.find(id);
  if (i == by_id_.end())
    return false;
  by_time_.erase(key{i->second, id});
  by_id_.erase(i);
  return true;
}

std::optional<std::pair<time_point, std::function<void()>>>
timer_queue::pop_due(time_point t) {
  if (by_time_.empty() || by_time_.begin()->first.first > t)
    return std::nullopt;
  auto i = by_time_.begin();
  auto result = std::make_pair(i->first.first, std::move(i->second));
  by_id_.erase(i->first.second);
  by_time_.erase(i);
  return result;
}

std::optional<time_point> timer_queue::earliest() const {
  if (by_time_.empty())
    return std::nullopt;
  return by_time_.begin()->first.first;
}

// -- system_clock -------------------------------------------------------------

system_clock::system_clock()
  : thread_([this] {
      run();
    }) {}

system_clock::~system_clock() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

time_point system_clock::now() const {
  return std::chrono::time_point_cast<duration>(
    std::chrono::system_clock::now());
}

timer_id system_clock::schedule(time_point at, std::function<void()> fn) {
  timer_id id;
  bool earliest = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto before = timers_.earliest();
    id = timers_.add(at, std::move(fn));
    earliest = !before || at < *before;
  }
  // The timer thread sleeps until the earliest timer: it needs waking only
  // when that one changed. (Every job attempt arms a timeout, almost always
  // later than one already pending; waking the thread for each cost a
  // context switch per attempt.)
  if (earliest)
    cv_.notify_one();
  return id;
}

void system_clock::cancel(timer_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  timers_.remove(id);
}

size_t system_clock::pending() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return timers_.size();
}

void system_clock::run() {
  std::unique_lock<std::mutex> guard{mtx_};
  while (!stop_) {
    if (auto due = timers_.pop_due(now())) {
      guard.unlock();
      due->second();
      guard.lock();
      continue;
    }
    if (auto next = timers_.earliest())
      cv_.wait_until(guard, *next);
    else
      cv_.wait(guard);
  }
}

// -- manual_clock -------------------------------------------------------------

manual_clock::manual_clock(time_point start) : now_(start) {}

time_point manual_clock::now() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return now_;
}

timer_id manual_clock::schedule(time_point at, std::function<void()> fn) {
  timer_id id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (at > now_) {
      id = timers_.add(at, std::move(fn));
      fn = nullptr;
    } else {
      id = timers_.add(at, nullptr); // an id that cancel ignores
      timers_.remove(id);
    }
  }
  if (fn)
    fn(); // already due: time does not have to move for it
  cv_.notify_all();
  return id;
}

void manual_clock::cancel(timer_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  timers_.remove(id);
}

size_t manual_clock::pending() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return timers_.size();
}

std::optional<time_point> manual_clock::next_timer() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return timers_.earliest();
}

size_t manual_clock::advance(duration d) {
  std::lock_guard<std::mutex> serial{advance_mtx_};
  time_point target;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    target = now_ + d;
  }
  size_t fired = 0;
  for (;;) {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto due = timers_.pop_due(target);
      if (!due) {
        if (target > now_)
          now_ = target;
        break;
      }
      if (due->first > now_)
        now_ = due->first;
      fn = std::move(due->second);
    }
    fn();
    ++fired;
  }
  return fired;
}

size_t manual_clock::advance_to(time_point t) {
  auto n = now();
  return advance(t > n ? t - n : duration{0});
}

bool manual_clock::wait_for_pending(size_t n,
                                    std::chrono::milliseconds real_timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, real_timeout, [&] {
    return timers_.size() >= n;
  });
}

std::unique_ptr<clock> make_clock(clock_kind kind) {
  if (kind == clock_kind::manual)
    return std::make_unique<manual_clock>();
  return std::make_unique<system_clock>();
}

bool advance_clock(clock& c, duration d) {
  if (!c.is_manual())
    return false;
  static_cast<manual_clock&>(c).advance(d);
  return true;
}

} // namespace billow::actors
