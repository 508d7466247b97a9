#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "actors/clock.hpp"
#include "actors/worker_pool.hpp"

using namespace billow::actors;
using namespace std::chrono_literals;

TEST(clock_test, manual_clock_fires_due_timers_in_time_order_and_only_them) {
  manual_clock c;
  auto t0 = c.now();
  std::vector<std::pair<int, time_point>> fired;
  c.schedule(t0 + 30s, [&] {
    fired.emplace_back(3, c.now());
  });
  c.schedule(t0 + 10s, [&] {
    fired.emplace_back(1, c.now());
  });
  c.schedule(t0 + 20s, [&] {
    fired.emplace_back(2, c.now());
  });
  c.schedule(t0 + 20s, [&] {
    fired.emplace_back(22, c.now());
  });
  EXPECT_EQ(c.advance(9s), 0u);
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(c.advance(16s), 3u); // now t0 + 25 s
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[0], std::make_pair(1, t0 + 10s));
  EXPECT_EQ(fired[1], std::make_pair(2, t0 + 20s));
  EXPECT_EQ(fired[2], std::make_pair(22, t0 + 20s)); // ties: scheduling order
  EXPECT_EQ(c.now(), t0 + 25s);
  EXPECT_EQ(c.pending(), 1u);
  EXPECT_EQ(c.next_timer(), t0 + 30s);
}

TEST(clock_test, cancelled_timer_never_fires_and_due_timer_fires_at_once) {
  manual_clock c;
  int n = 0;
  auto id = c.schedule(c.now() + 5s, [&] {
    ++n;
  });
  c.cancel(id);
  c.schedule(c.now(), [&] {
    n += 10;
  });
  EXPECT_EQ(n, 10);
  c.advance(10s);
  EXPECT_EQ(n, 10);
}

TEST(clock_test, timer_scheduled_while_advancing_fires_in_the_same_advance) {
  manual_clock c;
  auto t0 = c.now();
  std::vector<time_point> at;
  c.schedule(t0 + 1s, [&] {
    at.push_back(c.now());
    c.schedule(c.now() + 1s, [&] {
      at.push_back(c.now());
    });
  });
  c.advance(5s);
  ASSERT_EQ(at.size(), 2u);
  EXPECT_EQ(at[1], t0 + 2s);
}

TEST(clock_test, make_clock_and_advance_serve_the_clock_flag) {
  EXPECT_EQ(parse_clock_kind("manual"), clock_kind::manual);
  EXPECT_EQ(parse_clock_kind("system"), clock_kind::system);
  EXPECT_FALSE(parse_clock_kind("sundial"));
  auto m = make_clock(clock_kind::manual);
  auto t0 = m->now();
  EXPECT_TRUE(advance_clock(*m, 3600s));
  EXPECT_EQ(m->now(), t0 + 3600s);
  auto s = make_clock(clock_kind::system);
  EXPECT_FALSE(advance_clock(*s, 1s));
}

TEST(clock_test, system_clock_fires_a_due_timer_on_its_thread) {
  system_clock c;
  std::promise<void> done;
  c.schedule(c.now(), [&] {
    done.set_value();
  });
  EXPECT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
}

TEST(clock_test,
     system_clock_fires_an_earlier_timer_while_it_sleeps_for_a_later_one) {
  system_clock c;
  // The timer thread goes to sleep until the first timer, an hour away.
  c.schedule(c.now() + 1h, [] {});
  std::this_thread::sleep_for(20ms);
  // A timer earlier than that one must wake it; later ones need not.
  c.schedule(c.now() + 2h, [] {});
  std::promise<void> done;
  c.schedule(c.now() + 10ms, [&] {
    done.set_value();
  });
  EXPECT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(c.pending(), 2u);
}

TEST(worker_pool_test, abandoned_hung_task_is_replaced_so_others_still_run) {
  worker_pool pool{1};
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> started;
  auto hung = pool.submit([&, released] {
    started.set_value();
    released.wait();
  });
  started.get_future().wait();
  std::promise<int> other;
  pool.submit([&] {
    other.set_value(42);
  });
  auto f = other.get_future();
  // The only worker is stuck: the second task waits.
  EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);
  EXPECT_TRUE(pool.abandon(hung));
  EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), 42);
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.abandoned(), 1u);
  release.set_value();
}

TEST(worker_pool_test,
     abandoning_a_queued_task_drops_it_and_finished_is_refused) {
  worker_pool pool{1};
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> started;
  pool.submit([&, released] {
    started.set_value();
    released.wait();
  });
  started.get_future().wait();
  std::atomic<bool> ran{false};
  auto queued = pool.submit([&] {
    ran = true;
  });
  EXPECT_EQ(pool.queued(), 1u);
  EXPECT_TRUE(pool.abandon(queued));
  EXPECT_EQ(pool.queued(), 0u);
  release.set_value();
  std::promise<void> last;
  auto t = pool.submit([&] {
    last.set_value();
  });
  last.get_future().wait();
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(pool.abandoned(), 0u);
  // A finished task cannot be abandoned.
  EXPECT_FALSE(pool.abandon(999999));
  static_cast<void>(t);
}

TEST(worker_pool_test,
     shutdown_detaches_a_hung_task_after_the_grace_and_drops_its_report) {
  worker_pool pool{2};
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> started;
  std::promise<bool> hung_delivered;
  pool.submit(
    [&, released] {
      started.set_value();
      released.wait();
      hung_delivered.set_value(worker_pool::deliver([] {}));
    },
    "job 42 attempt 1");
  started.get_future().wait();
  std::promise<bool> quick_delivered;
  pool.submit([&] {
    quick_delivered.set_value(worker_pool::deliver([] {}));
  });
  auto quick = quick_delivered.get_future();
  ASSERT_EQ(quick.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(quick.get());
  auto t0 = std::chrono::steady_clock::now();
  auto left = pool.shutdown(200ms);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(left, (std::vector<std::string>{"job 42 attempt 1"}));
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_TRUE(pool.shutdown(200ms).empty()); // once only
  // The call returns later: its report is dropped at the closed gate.
  release.set_value();
  auto late = hung_delivered.get_future();
  ASSERT_EQ(late.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(late.get());
}

TEST(worker_pool_test, shutdown_waits_for_calls_that_end_within_the_grace) {
  worker_pool pool{1};
  std::promise<void> started;
  std::atomic<bool> finished{false};
  pool.submit([&] {
    started.set_value();
    std::this_thread::sleep_for(100ms); // a call that takes a while
    finished = true;
  });
  started.get_future().wait();
  EXPECT_TRUE(pool.shutdown(10s).empty());
  EXPECT_TRUE(finished.load());
}
