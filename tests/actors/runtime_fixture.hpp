#pragma once

#include <functional>
#include <memory>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "actors/clock.hpp"
#include "actors/context.hpp"
#include "actors/job.hpp"
#include "actors/runtime.hpp"
#include "actors/service.hpp"
#include "actors/worker_pool.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"
#include "tests/actors/test_module.hpp"
#include "tests/support/temp_dir.hpp"

namespace billow::test {

/// A store in its own temporary directory, a manual clock, an actor system
/// on the real scheduler (the writer is detached), the worker pool, the test
/// module, the job manager and the service registry. Tests wait on replies
/// and on conditions, never on sleeps; time moves only with `advance`.
class runtime_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    open_store();
    actors::runtime_options ro;
    ro.scheduler_threads = 2;
    cfg = actors::make_actor_system_config(ro);
    sys = std::make_unique<caf::actor_system>(*cfg);
    pool = std::make_unique<actors::worker_pool>(pool_size);
    start_runtime();
  }

  void open_store() {
    events::store_options opts;
    opts.dir = dir.sub("db");
    opts.clock = [this] {
      return clock.now_us();
    };
    auto s = events::event_store::open(std::move(opts));
    ASSERT_TRUE(s) << to_string(s.error());
    store = std::move(*s);
  }

  /// Spawns writer, snapshot writer, job manager and registry.
  void start_runtime() {
    events::writer_options wo;
    wo.durability = durability;
    ctx.store = store.get();
    ctx.writer = events::make_writer(*sys, *store, wo);
    ctx.clock = &clock;
    ctx.pool = pool.get();
    ctx.modules = &module;
    ctx.snapshots = actors::make_snapshot_writer(*sys, *store);
    ctx.aggregates = aggregate_opts;
    jobs = actors::make_job_manager(*sys, ctx);
    services = actors::make_service_registry(*sys, ctx, jobs, registry_opts);
  }

  /// Kills every runtime actor (as a crash would, minus the process).
  void stop_runtime() {
    for (auto h : {caf::actor_cast<caf::actor>(services),
                   caf::actor_cast<caf::actor>(jobs),
                   caf::actor_cast<caf::actor>(ctx.writer), ctx.snapshots})
      if (h) {
        self()->send_exit(h, caf::exit_reason::kill);
        self()->wait_for(h);
      }
  }

  void TearDown() override {
    module.release();
    stop_runtime();
    // Detached actors' threads end only once no handle refers to them.
    ctx.writer = nullptr;
    ctx.snapshots = nullptr;
    jobs = nullptr;
    services = nullptr;
    self_.reset();
    sys.reset();
    pool.reset();
    store.reset();
  }

  caf::scoped_actor& self() {
    if (!self_)
      self_ = std::make_unique<caf::scoped_actor>(*sys);
    return *self_;
  }

  /// Sends a request and waits (up to 10 s of real time) for its answer.
  template <class R, class Handle, class... Ts>
  caf::expected<R> ask(const Handle& h, Ts&&... xs) {
    caf::expected<R> out = make_error(billow_errc::timeout, "no answer");
    self()
      ->request(h, std::chrono::seconds(10), std::forward<Ts>(xs)...)
      .receive(
        [&](R& r) {
          out = std::move(r);
        },
        [&](caf::error& err) {
          out = std::move(err);
        });
    return out;
  }

  /// Repeats `probe` (each a round trip, no sleeping) until it holds or
  /// 10 s of real time pass.
  bool eventually(const std::function<bool()>& probe) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (probe())
        return true;
      std::this_thread::yield();
    }
    return probe();
  }

  caf::expected<actors::job_view> job(const events::uuid& id) {
    return ask<actors::job_view>(jobs, actors::job_get_atom::value, id);
  }

  bool wait_job(const events::uuid& id, actors::job_status st,
                uint32_t attempt = 0) {
    return eventually([&] {
      auto v = job(id);
      return v && v->status == st && (attempt == 0 || v->attempt == attempt);
    });
  }

  caf::expected<actors::service_view> service(const events::uuid& id) {
    return ask<actors::service_view>(services, actors::query_atom::value, id);
  }

  caf::expected<actors::command_result> open(const events::uuid& id,
                                             std::string key = {}) {
    actors::open_service cmd;
    cmd.client_id = events::uuid::random();
    cmd.product_id = events::uuid::random();
    cmd.module = "Product/test";
    cmd.idempotency_key = std::move(key);
    return ask<actors::command_result>(services, actors::svc_open_atom::value,
                                       id, cmd);
  }

  caf::expected<actors::command_result>
  command(const events::uuid& id, actors::service_op op, std::string key = {},
          int64_t if_match = -1) {
    actors::service_command cmd;
    cmd.op = op;
    cmd.idempotency_key = std::move(key);
    cmd.expected_version = if_match;
    cmd.policy.backoff_s = {1};
    if (op == actors::service_op::change_package)
      cmd.product_id = events::uuid::random();
    return ask<actors::command_result>(services, actors::svc_cmd_atom::value,
                                       id, cmd);
  }

  /// Opens and provisions a service: it ends active.
  events::uuid active_service() {
    auto id = events::uuid::random();
    EXPECT_TRUE(open(id));
    EXPECT_TRUE(command(id, actors::service_op::create));
    EXPECT_TRUE(eventually([&] {
      auto v = service(id);
      return v && v->status == actors::service_status::active;
    }));
    return id;
  }

  /// Types of the events in `stream`, in order.
  std::vector<std::string> types(const std::string& stream) {
    std::vector<std::string> out;
    auto evs = store->read_stream(stream, 1, events::read_direction::forward,
                                  SIZE_MAX);
    EXPECT_TRUE(evs);
    if (evs)
      for (auto& e : *evs)
        out.push_back(e.type);
    return out;
  }

  temp_dir dir{"actors"};
  actors::manual_clock clock;
  test_module module;
  size_t pool_size = 2;
  events::durability durability = events::durability::sync;
  actors::aggregate_options aggregate_opts;
  actors::registry_options registry_opts;
  std::unique_ptr<events::event_store> store;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<actors::worker_pool> pool;
  actors::runtime_context ctx;
  actors::job_manager_actor jobs;
  actors::service_registry_actor services;
  std::unique_ptr<caf::scoped_actor> self_;
};

} // namespace billow::test
