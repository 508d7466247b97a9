// The runtime's Prometheus figures (actors/runtime.hpp) as the actors move,
// and the registry dropping a service actor that ended other than by
// passivation.

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <rocksdb/db.h>

#include "actors/runtime.hpp"
#include "tests/actors/runtime_fixture.hpp"

using namespace billow;
using namespace billow::actors;
using namespace std::chrono_literals;
using billow::test::runtime_fixture;
using billow::test::step;

namespace {

class runtime_metrics_test : public runtime_fixture {
protected:
  void SetUp() override {
    registry_opts.idle_timeout = 60s;
    registry_opts.max_live = 2;
    metrics = std::make_unique<runtime_metrics>(registry);
    ctx.metrics = metrics.get();
    runtime_fixture::SetUp();
  }

  /// The value of `name` with `label` = `value` (any labels when empty);
  /// -1 when absent.
  double metric(const std::string& name, const std::string& label = {},
                const std::string& value = {}) {
    for (auto& fam : registry.Collect()) {
      if (fam.name != name)
        continue;
      for (auto& m : fam.metric) {
        bool match = label.empty();
        for (auto& l : m.label)
          match = match || (l.name == label && l.value == value);
        if (!match)
          continue;
        if (fam.type == prometheus::MetricType::Counter)
          return m.counter.value;
        return m.gauge.value;
      }
    }
    return -1;
  }

  double jobs_in(const char* status) {
    return metric("billow_jobs", "status", status);
  }

  registry_stats stats() {
    auto s = ask<registry_stats>(services, stats_atom::value);
    EXPECT_TRUE(s);
    return s ? *s : registry_stats{};
  }

  prometheus::Registry registry;
  std::unique_ptr<runtime_metrics> metrics;
};

} // namespace

TEST_F(runtime_metrics_test, jobs_by_status_attempts_and_failures_follow_jobs) {
  EXPECT_EQ(jobs_in("completed"), 0);
  EXPECT_EQ(metric("billow_job_attempts_total"), 0);
  // A job that fails once (an error), waits for its backoff, then succeeds.
  module.script("create_job", {step::error, step::ok});
  auto id = events::uuid::random();
  ASSERT_TRUE(open(id));
  ASSERT_TRUE(command(id, service_op::create));
  ASSERT_TRUE(eventually([&] {
    return jobs_in("retrying") == 1;
  }));
  EXPECT_EQ(jobs_in("running"), 0);
  EXPECT_EQ(metric("billow_job_attempt_failures_total", "kind", "error"), 1);
  clock.advance(1s); // the backoff
  ASSERT_TRUE(eventually([&] {
    auto v = service(id);
    return v && v->status == service_status::active;
  }));
  ASSERT_TRUE(eventually([&] {
    return jobs_in("completed") == 1;
  }));
  EXPECT_EQ(jobs_in("retrying"), 0);
  EXPECT_EQ(jobs_in("queued"), 0);
  EXPECT_EQ(metric("billow_job_attempts_total"), 2);
  // A job that throws once with tries 1 fails; retried by command after its
  // actor is gone, it leaves `failed` again and completes.
  module.script("m", {step::raise, step::ok});
  job_spec s;
  s.module = "Product/test";
  s.method = "m";
  s.policy = job_policy{1, {}, 600, 0};
  auto v = ask<job_view>(jobs, job_add_atom::value, s);
  ASSERT_TRUE(v);
  auto done = ask<job_view>(jobs, job_await_atom::value, v->job_id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, job_status::failed);
  ASSERT_TRUE(eventually([&] {
    return jobs_in("failed") == 1;
  }));
  EXPECT_EQ(metric("billow_job_attempt_failures_total", "kind", "exception"),
            1);
  ASSERT_TRUE(ask<job_view>(jobs, job_retry_atom::value, v->job_id,
                            std::string{"admin:1"}));
  ASSERT_TRUE(eventually([&] {
    return jobs_in("completed") == 2;
  }));
  EXPECT_EQ(jobs_in("failed"), 0);
  EXPECT_EQ(jobs_in("running"), 0);
  EXPECT_EQ(metric("billow_job_attempts_total"), 4);
}

TEST_F(runtime_metrics_test, service_actors_spawned_passivated_and_evicted) {
  EXPECT_EQ(metric("billow_service_actors_live"), 0);
  auto a = active_service();
  auto b = active_service();
  EXPECT_EQ(metric("billow_service_actors_spawned_total"), 2);
  EXPECT_EQ(metric("billow_service_actors_live"), 2);
  // The cap is 2: a third evicts the least recently used.
  auto c = active_service();
  EXPECT_EQ(metric("billow_service_actors_evicted_total"), 1);
  EXPECT_EQ(metric("billow_service_actors_live"), 2);
  clock.advance(61s);
  ASSERT_TRUE(eventually([&] {
    return metric("billow_service_actors_passivated_total") == 2;
  }));
  EXPECT_EQ(metric("billow_service_actors_live"), 0);
  ASSERT_TRUE(service(a));
  EXPECT_EQ(metric("billow_service_actors_spawned_total"), 4);
  EXPECT_EQ(metric("billow_service_actors_live"), 1);
  static_cast<void>(b);
  static_cast<void>(c);
}

TEST_F(runtime_metrics_test,
       a_service_actor_that_fails_to_load_is_dropped_and_respawned) {
  auto id = active_service();
  clock.advance(61s);
  ASSERT_TRUE(eventually([&] {
    return stats().live == 0;
  }));
  // A truncated snapshot: loading the service fails with `corruption`.
  auto* cf = store->column_family("snapshots");
  ASSERT_NE(cf, nullptr);
  auto stream = service_stream(id);
  ASSERT_TRUE(store->db().Put(rocksdb::WriteOptions{}, cf, stream, "bad").ok());
  auto broken = service(id);
  ASSERT_FALSE(broken);
  EXPECT_EQ(errc_of(broken.error()), billow_errc::corruption);
  // The actor ends with its load error; the registry drops it.
  ASSERT_TRUE(eventually([&] {
    return stats().down == 1;
  }));
  EXPECT_EQ(stats().live, 0u);
  EXPECT_EQ(metric("billow_service_actors_down_total"), 1);
  EXPECT_EQ(metric("billow_service_actors_live"), 0);
  // Repaired, the next message spawns a fresh actor that loads fine (the
  // old one would keep answering its load error).
  ASSERT_TRUE(store->db().Delete(rocksdb::WriteOptions{}, cf, stream).ok());
  auto spawned = stats().spawned;
  auto ok = service(id);
  ASSERT_TRUE(ok) << to_string(ok.error());
  EXPECT_EQ(ok->status, service_status::active);
  EXPECT_EQ(stats().spawned, spawned + 1);
  EXPECT_EQ(stats().live, 1u);
  EXPECT_TRUE(command(id, service_op::suspend));
}
