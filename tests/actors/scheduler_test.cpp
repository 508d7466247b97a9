#include <mutex>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include "actors/scheduler.hpp"
#include "tests/actors/runtime_fixture.hpp"

using namespace billow;
using namespace billow::actors;
using namespace std::chrono_literals;
using billow::test::runtime_fixture;

namespace {

/// Every (name, due) a target was asked to run, across restarts.
struct run_log {
  std::mutex mtx;
  std::vector<int64_t> dues;

  size_t size() {
    std::lock_guard<std::mutex> guard{mtx};
    return dues.size();
  }
};

caf::actor make_target(caf::actor_system& sys, run_log& log) {
  // The nullptr argument: CAF 0.17.6 dereferences a null argument tuple for
  // function-based actors spawned without arguments (docs/architecture.md).
  return sys.spawn(
    [&log](caf::event_based_actor*, std::nullptr_t) -> caf::behavior {
      return {
        [&log](sched_tick_atom, const std::string&, int64_t due) {
          std::lock_guard<std::mutex> guard{log.mtx};
          log.dues.push_back(due);
          return true;
        },
      };
    },
    nullptr);
}

class scheduler_test : public runtime_fixture {
protected:
  void TearDown() override {
    if (target)
      caf::anon_send_exit(target, caf::exit_reason::kill);
    target = nullptr;
    runtime_fixture::TearDown();
  }

  scheduler_actor start() {
    auto s = make_scheduler(*sys, ctx);
    auto v = ask<uint64_t>(s, sched_set_atom::value, std::string{"billing"},
                           uint64_t{3600}, target);
    EXPECT_TRUE(v) << to_string(v.error());
    return s;
  }

  void stop(scheduler_actor& s) {
    self()->send_exit(s, caf::exit_reason::kill);
    self()->wait_for(s);
  }

  std::vector<schedule_view> list(const scheduler_actor& s) {
    auto v = ask<std::vector<schedule_view>>(s, sched_list_atom::value);
    return v ? *v : std::vector<schedule_view>{};
  }

  run_log log;
  caf::actor target;
};

} // namespace

TEST_F(scheduler_test, runs_each_interval_once_and_records_it) {
  target = make_target(*sys, log);
  auto t0 = clock.now();
  auto s = start();
  clock.advance(3599s);
  EXPECT_EQ(list(s).at(0).runs, 0u);
  clock.advance(1s);
  ASSERT_TRUE(eventually([&] {
    return list(s).at(0).runs == 1;
  }));
  clock.advance(3600s);
  ASSERT_TRUE(eventually([&] {
    return list(s).at(0).runs == 2;
  }));
  std::vector<int64_t> want{to_us(t0 + 3600s), to_us(t0 + 7200s)};
  EXPECT_EQ(log.dues, want);
  auto t = types("scheduler");
  EXPECT_EQ(
    t,
    (std::vector<std::string>{"schedule.set", "schedule.ran", "schedule.ran"}));
  stop(s);
}

TEST_F(scheduler_test, restart_neither_skips_nor_doubles_runs) {
  target = make_target(*sys, log);
  auto t0 = clock.now();
  auto s = start();
  clock.advance(3600s);
  ASSERT_TRUE(eventually([&] {
    return list(s).at(0).runs == 1;
  }));
  stop(s);
  // Down for three intervals: on restart the three missed runs happen once
  // each, in order, and the recorded one is not repeated.
  clock.advance(3 * 3600s + 10s);
  auto s2 = start();
  ASSERT_TRUE(eventually([&] {
    return list(s2).at(0).runs == 4;
  }));
  std::vector<int64_t> want;
  for (int i = 1; i <= 4; ++i)
    want.push_back(to_us(t0 + i * 3600s));
  {
    std::lock_guard<std::mutex> guard{log.mtx};
    EXPECT_EQ(log.dues, want);
  }
  EXPECT_EQ(list(s2).at(0).next_due_us, to_us(t0 + 5 * 3600s));
  stop(s2);
}
