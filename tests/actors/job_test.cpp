#include <algorithm>

#include <gtest/gtest.h>

#include "tests/actors/runtime_fixture.hpp"

using namespace billow;
using namespace billow::actors;
using namespace std::chrono_literals;
using billow::test::runtime_fixture;
using billow::test::step;

namespace {

class job_test : public runtime_fixture {
protected:
  job_spec spec(std::string method, job_policy policy = {}) {
    job_spec s;
    s.module = "Product/test";
    s.method = std::move(method);
    s.input = "{\"n\":" + std::to_string(++counter_) + "}";
    s.tags = {"test"};
    s.policy = std::move(policy);
    return s;
  }

  job_view add(job_spec s) {
    auto v = ask<job_view>(jobs, job_add_atom::value, std::move(s));
    EXPECT_TRUE(v) << to_string(v.error());
    return v ? *v : job_view{};
  }

  job_view await(const events::uuid& id) {
    auto v = ask<job_view>(jobs, job_await_atom::value, id);
    EXPECT_TRUE(v) << to_string(v.error());
    return v ? *v : job_view{};
  }

  /// Commit times of `job.started`, relative to `t0`, in seconds.
  std::vector<int64_t> start_times(const events::uuid& id, time_point t0) {
    std::vector<int64_t> out;
    auto evs = store->read_stream(job_stream(id), 1,
                                  events::read_direction::forward, SIZE_MAX);
    for (auto& e : *evs)
      if (e.type == "job.started")
        out.push_back((e.time_us - to_us(t0)) / 1'000'000);
    return out;
  }

  int counter_ = 0;
};

} // namespace

TEST_F(job_test, successful_job_records_queued_started_succeeded_and_result) {
  auto v = add(spec("create_job"));
  EXPECT_FALSE(v.job_id.is_nil());
  auto done = await(v.job_id);
  EXPECT_EQ(done.status, job_status::completed);
  EXPECT_EQ(done.attempt, 1u);
  EXPECT_EQ(done.result, "{\"done\":\"create_job\"}");
  EXPECT_EQ(
    types(job_stream(v.job_id)),
    (std::vector<std::string>{"job.queued", "job.started", "job.succeeded"}));
}

TEST_F(job_test, each_attempt_names_the_log_position_of_its_start) {
  module.script("m", {step::error, step::ok});
  auto v = add(spec("m", job_policy{2, {10}, 600, 2}));
  ASSERT_TRUE(wait_job(v.job_id, job_status::retrying, 1));
  clock.advance(10s);
  ASSERT_EQ(await(v.job_id).status, job_status::completed);
  // Module data read for an attempt must reflect the log up to its
  // `job.started`: every earlier result is before it.
  std::vector<uint64_t> started;
  auto evs = store->read_stream(job_stream(v.job_id), 1,
                                events::read_direction::forward, SIZE_MAX);
  for (auto& e : *evs)
    if (e.type == "job.started")
      started.push_back(e.position);
  std::vector<uint64_t> told;
  for (auto& c : module.calls())
    if (c.job_id == v.job_id)
      told.push_back(c.started_at);
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(told, started);
  EXPECT_LT(started[0], started[1]);
}

TEST_F(job_test, tries_cap_attempts_and_backoff_list_spaces_them) {
  module.script("m", {step::error});
  auto t0 = clock.now();
  auto v = add(spec("m", job_policy{3, {10, 20}, 600, 2}));
  ASSERT_TRUE(wait_job(v.job_id, job_status::retrying, 1));
  EXPECT_EQ(job(v.job_id)->retry_at_us, to_us(t0 + 10s));
  clock.advance(9s);
  EXPECT_EQ(job(v.job_id)->status, job_status::retrying); // not yet
  clock.advance(1s);
  ASSERT_TRUE(wait_job(v.job_id, job_status::retrying, 2));
  clock.advance(19s);
  EXPECT_EQ(job(v.job_id)->attempt, 2u);
  clock.advance(1s);
  auto done = await(v.job_id);
  EXPECT_EQ(done.status, job_status::failed);
  EXPECT_EQ(done.attempt, 3u);
  EXPECT_EQ(done.exceptions, 0u); // returned errors are not exceptions
  EXPECT_EQ(done.failures.size(), 3u);
  EXPECT_EQ(done.error, "remote API said no");
  EXPECT_EQ(module.attempts_of(v.job_id), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(start_times(v.job_id, t0), (std::vector<int64_t>{0, 10, 30}));
  auto t = types(job_stream(v.job_id));
  EXPECT_EQ(std::count(t.begin(), t.end(), "job.retry_scheduled"), 2);
  EXPECT_EQ(t.back(), "job.failed");
}

TEST_F(job_test, single_backoff_value_applies_to_every_retry) {
  module.script("m", {step::error, step::error, step::ok});
  auto t0 = clock.now();
  auto v = add(spec("m", job_policy{5, {7}, 600, 2}));
  ASSERT_TRUE(wait_job(v.job_id, job_status::retrying, 1));
  clock.advance(7s);
  ASSERT_TRUE(wait_job(v.job_id, job_status::retrying, 2));
  clock.advance(7s);
  auto done = await(v.job_id);
  EXPECT_EQ(done.status, job_status::completed);
  EXPECT_EQ(start_times(v.job_id, t0), (std::vector<int64_t>{0, 7, 14}));
}

TEST_F(job_test, max_exceptions_fails_the_job_before_tries_run_out) {
  module.script("m", {step::raise});
  auto v = add(spec("m", job_policy{5, {1}, 600, 2}));
  ASSERT_TRUE(wait_job(v.job_id, job_status::retrying, 1));
  clock.advance(1s);
  auto done = await(v.job_id);
  EXPECT_EQ(done.status, job_status::failed);
  EXPECT_EQ(done.attempt, 2u);
  EXPECT_EQ(done.exceptions, 2u);
  EXPECT_EQ(done.failures[0].kind, "exception");
  EXPECT_EQ(done.error, "module threw");
  auto evs = store->read_stream(job_stream(v.job_id), 0,
                                events::read_direction::backward, 1);
  EXPECT_NE(evs->front().payload.find("max_exceptions"), std::string::npos);
}

TEST_F(job_test, returned_errors_do_not_count_as_exceptions) {
  module.script("m", {step::error, step::error, step::ok});
  auto v = add(spec("m", job_policy{3, {0}, 600, 1}));
  auto done = await(v.job_id);
  EXPECT_EQ(done.status, job_status::completed);
  EXPECT_EQ(done.attempt, 3u);
  EXPECT_EQ(done.exceptions, 0u);
}

TEST_F(job_test,
       timed_out_attempt_fails_counts_as_exception_and_replaces_its_worker) {
  module.script("m", {step::hang, step::ok});
  auto t0 = clock.now();
  auto v = add(spec("m", job_policy{3, {5}, 600, 2}));
  ASSERT_TRUE(module.wait_hanging(1));
  ASSERT_TRUE(wait_job(v.job_id, job_status::running, 1));
  ASSERT_TRUE(clock.wait_for_pending(1, 10s)); // the attempt's timeout
  clock.advance(599s);
  EXPECT_EQ(job(v.job_id)->status, job_status::running);
  clock.advance(1s);
  ASSERT_TRUE(wait_job(v.job_id, job_status::retrying, 1));
  auto mid = *job(v.job_id);
  EXPECT_EQ(mid.exceptions, 1u);
  EXPECT_EQ(mid.failures.at(0).kind, "timeout");
  EXPECT_EQ(pool->abandoned(), 1u);
  EXPECT_EQ(pool->size(), pool_size);
  clock.advance(5s);
  // Attempt 2 runs although attempt 1 still hangs on its abandoned thread.
  auto done = await(v.job_id);
  EXPECT_EQ(done.status, job_status::completed);
  EXPECT_EQ(start_times(v.job_id, t0), (std::vector<int64_t>{0, 605}));
  module.release();
}

TEST_F(job_test, hung_calls_cannot_starve_the_pool) {
  // Both workers hang; once their attempts time out, other jobs still run.
  module.script("hang", {step::hang});
  auto a = add(spec("hang", job_policy{1, {}, 60, 1}));
  auto b = add(spec("hang", job_policy{1, {}, 60, 1}));
  ASSERT_TRUE(module.wait_hanging(2));
  auto c = add(spec("quick"));
  // Its attempt waits for a worker: the module has not seen it.
  EXPECT_TRUE(module.attempts_of(c.job_id).empty());
  EXPECT_EQ(pool->queued(), 1u);
  ASSERT_TRUE(wait_job(a.job_id, job_status::running));
  ASSERT_TRUE(wait_job(b.job_id, job_status::running));
  // Two timeouts run; the queued attempt's clock has not started.
  ASSERT_TRUE(clock.wait_for_pending(2, 10s));
  EXPECT_EQ(clock.pending(), 2u);
  clock.advance(60s);
  EXPECT_EQ(await(a.job_id).status, job_status::failed);
  EXPECT_EQ(await(b.job_id).status, job_status::failed);
  EXPECT_EQ(await(c.job_id).status, job_status::completed);
  EXPECT_EQ(pool->abandoned(), 2u);
  module.release();
}

TEST_F(job_test, identical_job_while_queued_or_running_is_the_same_job) {
  module.script("m", {step::hang});
  auto s = spec("m", job_policy{1, {}, 60, 1});
  auto first = add(s);
  auto second = add(s);
  EXPECT_EQ(first.job_id, second.job_id);
  auto other_tags = s;
  other_tags.tags = {"else"};
  EXPECT_NE(add(other_tags).job_id, first.job_id);
  ASSERT_TRUE(module.wait_hanging(2));
  ASSERT_TRUE(clock.wait_for_pending(2, 10s));
  clock.advance(60s);
  EXPECT_EQ(await(first.job_id).status, job_status::failed);
  module.release();
  // Finished: the same spec is a new job.
  EXPECT_NE(add(s).job_id, first.job_id);
}

TEST_F(
  job_test,
  failed_job_retried_by_command_gets_fresh_tries_and_later_attempt_numbers) {
  module.script("m", {step::error, step::ok});
  auto v = add(spec("m", job_policy{1, {}, 600, 1}));
  EXPECT_EQ(await(v.job_id).status, job_status::failed);
  auto r = ask<job_view>(jobs, job_retry_atom::value, v.job_id,
                         std::string{"admin:1"});
  ASSERT_TRUE(r) << to_string(r.error());
  auto done = await(v.job_id);
  EXPECT_EQ(done.status, job_status::completed);
  EXPECT_EQ(module.attempts_of(v.job_id), (std::vector<uint32_t>{1, 2}));
  auto again = ask<job_view>(jobs, job_retry_atom::value, v.job_id,
                             std::string{"admin:1"});
  ASSERT_FALSE(again);
  EXPECT_EQ(errc_of(again.error()), billow_errc::invalid_transition);
}

TEST_F(job_test, a_job_asked_for_while_its_first_events_are_stored_runs_on) {
  // As a service's job: its id named by the service, and asked for (GET
  // /jobs/{id}) as soon as the service's answer names it, which can be
  // before the job's own first events are durable.
  for (int i = 0; i < 20; ++i) {
    auto s = spec("create_job");
    s.job_id = events::uuid::random();
    s.unstored = true;
    auto id = s.job_id;
    self()->send(jobs, job_add_atom::value, std::move(s));
    auto v = job(id);
    ASSERT_TRUE(v) << to_string(v.error());
    EXPECT_EQ(v->job_id, id);
    ASSERT_TRUE(wait_job(id, job_status::completed)) << "job " << i;
  }
}

TEST_F(job_test, bad_specs_and_unknown_ids_are_refused) {
  auto s = spec("m", job_policy{0, {}, 600, 1});
  auto v = ask<job_view>(jobs, job_add_atom::value, s);
  ASSERT_FALSE(v);
  EXPECT_EQ(errc_of(v.error()), billow_errc::invalid_argument);
  auto g = job(events::uuid::random());
  ASSERT_FALSE(g);
  EXPECT_EQ(errc_of(g.error()), billow_errc::not_found);
}

TEST_F(job_test, restart_resumes_running_and_retrying_jobs_with_stable_ids) {
  module.script("hang_then_ok", {step::hang, step::ok});
  module.script("fail_then_ok", {step::error, step::ok});
  auto running = add(spec("hang_then_ok", job_policy{3, {5}, 600, 2}));
  auto retrying = add(spec("fail_then_ok", job_policy{3, {50}, 600, 2}));
  ASSERT_TRUE(module.wait_hanging(1));
  ASSERT_TRUE(wait_job(running.job_id, job_status::running, 1));
  ASSERT_TRUE(wait_job(retrying.job_id, job_status::retrying, 1));
  // "Crash": every runtime actor dies; the hung call is still in flight.
  stop_runtime();
  start_runtime();
  auto n = ask<uint64_t>(jobs, recover_atom::value);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);
  // The running attempt runs again with the same number (at-least-once).
  auto a = await(running.job_id);
  EXPECT_EQ(a.status, job_status::completed);
  EXPECT_EQ(a.attempt, 1u);
  EXPECT_EQ(module.attempts_of(running.job_id), (std::vector<uint32_t>{1, 1}));
  // The retry keeps its recorded time.
  EXPECT_EQ(job(retrying.job_id)->status, job_status::retrying);
  clock.advance(50s);
  auto b = await(retrying.job_id);
  EXPECT_EQ(b.status, job_status::completed);
  EXPECT_EQ(module.attempts_of(retrying.job_id), (std::vector<uint32_t>{1, 2}));
  // Nothing left to resume.
  stop_runtime();
  start_runtime();
  auto none = ask<uint64_t>(jobs, recover_atom::value);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
  module.release();
}
