// The front actor's execution unit: an actor hosted on it runs only when the
// I/O loop runs its turn, what it messages runs on CAF's scheduler, and once
// the loop has ended it moves to the scheduler. The loop here is a queue the
// test runs by hand.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "api/io_execution_unit.hpp"

using namespace std::chrono_literals;
using billow::api::io_execution_unit;

namespace {

/// Stands in for the HTTP server's I/O loop: `post` queues, `run` runs.
class manual_loop {
public:
  void post(std::function<void()> fn) {
    std::lock_guard guard{mtx_};
    queue_.push_back(std::move(fn));
    cv_.notify_all();
  }

  /// Runs what is queued, and what that queues, on the calling thread.
  std::size_t run() {
    std::size_t n = 0;
    for (;;) {
      std::function<void()> fn;
      {
        std::lock_guard guard{mtx_};
        if (queue_.empty())
          return n;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
      ++n;
    }
  }

  /// Waits until something is queued (another thread posts it).
  bool wait_for_work(std::chrono::milliseconds timeout) {
    std::unique_lock guard{mtx_};
    return cv_.wait_for(guard, timeout, [&] {
      return !queue_.empty();
    });
  }

  std::size_t queued() {
    std::lock_guard guard{mtx_};
    return queue_.size();
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};

/// What the hosted actor saw: each value it handled, and on which thread.
struct sightings {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<std::pair<int, std::thread::id>> seen;

  void add(int value) {
    std::lock_guard guard{mtx};
    seen.emplace_back(value, std::this_thread::get_id());
    cv.notify_all();
  }

  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock guard{mtx};
    return cv.wait_for(guard, timeout, [&] {
      return seen.size() >= count;
    });
  }
};

/// Answers n with n + 1, wherever CAF runs it; notes its thread.
caf::behavior increment(caf::event_based_actor*, std::thread::id* ran_on) {
  return {[ran_on](int n) {
    *ran_on = std::this_thread::get_id();
    return n + 1;
  }};
}

/// A hosted actor like the front: notes every int; given another actor, asks
/// it to increment 41 and notes the answer.
class hosted_actor final
  : public billow::api::io_hosted<caf::event_based_actor> {
public:
  hosted_actor(caf::actor_config& cfg, std::shared_ptr<io_execution_unit> unit,
               sightings* seen)
    : io_hosted(cfg, std::move(unit)), seen_(seen) {
    // nop
  }

  caf::behavior make_behavior() override {
    return {
      [this](int n) {
        seen_->add(n);
      },
      [this](const caf::actor& other) {
        request(other, 5s, 41).then([this](int n) {
          seen_->add(n);
        });
      },
    };
  }

private:
  sightings* seen_;
};

class io_execution_unit_test : public ::testing::Test {
protected:
  io_execution_unit_test()
    : unit_(std::make_shared<io_execution_unit>(
      sys_, [this](std::function<void()> fn) {
        loop_.post(std::move(fn));
      })) {
    hosted_ = sys_.spawn<hosted_actor>(unit_, &seen_);
  }

  ~io_execution_unit_test() override {
    unit_->loop_ended();
    caf::anon_send_exit(hosted_, caf::exit_reason::user_shutdown);
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  manual_loop loop_;
  std::shared_ptr<io_execution_unit> unit_;
  sightings seen_;
  caf::actor hosted_;
};

TEST_F(io_execution_unit_test, a_hosted_actor_runs_only_when_the_loop_runs) {
  loop_.run(); // its first turn (launch)
  caf::anon_send(hosted_, 1);
  caf::anon_send(hosted_, 2);
  ASSERT_TRUE(loop_.wait_for_work(5s));
  std::this_thread::sleep_for(20ms); // CAF's threads could run it: they don't
  EXPECT_TRUE(seen_.seen.empty());
  EXPECT_GE(loop_.run(), 1u);
  ASSERT_EQ(seen_.seen.size(), 2u);
  for (auto& [value, thread] : seen_.seen)
    EXPECT_EQ(thread, std::this_thread::get_id()) << value;
  EXPECT_EQ(seen_.seen[0].first, 1);
  EXPECT_EQ(seen_.seen[1].first, 2);
}

TEST_F(io_execution_unit_test, actors_it_messages_run_on_the_scheduler) {
  std::thread::id increment_ran_on;
  auto other = sys_.spawn(increment, &increment_ran_on);
  loop_.run();
  caf::anon_send(hosted_, other);
  ASSERT_TRUE(loop_.wait_for_work(5s));
  // That turn sends the request; the answer comes back as a turn of this
  // loop, within the same run when the increment is quick, or a later one.
  loop_.run();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (seen_.seen.empty() && std::chrono::steady_clock::now() < deadline) {
    loop_.wait_for_work(50ms);
    loop_.run();
  }
  ASSERT_EQ(seen_.seen.size(), 1u) << "the answer never came back";
  EXPECT_EQ(seen_.seen[0].first, 42);
  EXPECT_EQ(seen_.seen[0].second, std::this_thread::get_id());
  EXPECT_NE(increment_ran_on, std::this_thread::get_id());
  EXPECT_NE(increment_ran_on, std::thread::id{});
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
}

TEST_F(io_execution_unit_test, after_the_loop_ends_it_runs_on_the_scheduler) {
  loop_.run();
  caf::anon_send(hosted_, 1);
  ASSERT_TRUE(loop_.wait_for_work(5s));
  // The loop ends with that turn still queued: the scheduler takes it over.
  unit_->loop_ended();
  ASSERT_TRUE(seen_.wait_for(1, 5s)) << "the owed turn was lost";
  caf::anon_send(hosted_, 2);
  ASSERT_TRUE(seen_.wait_for(2, 5s));
  EXPECT_EQ(loop_.queued(), 1u); // only the stale turn, never posted again
  loop_.run();                   // and running it late does nothing
  std::lock_guard guard{seen_.mtx};
  ASSERT_EQ(seen_.seen.size(), 2u);
  for (auto& [value, thread] : seen_.seen)
    EXPECT_NE(thread, std::this_thread::get_id()) << value;
}

} // namespace
