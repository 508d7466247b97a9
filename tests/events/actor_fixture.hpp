#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <gtest/gtest.h>

#include "actors/runtime.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"
#include "tests/support/temp_dir.hpp"

namespace billow::test {

/// A store in a temporary directory, an actor system and a writer over the
/// store. The writer is detached (its own thread), so tests use the real
/// scheduler and wait on replies, never on sleeps.
class writer_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    events::store_options opts;
    opts.dir = dir.sub("db");
    opts.clock = [this] {
      return clock();
    };
    opts.env = env();
    auto s = events::event_store::open(std::move(opts));
    ASSERT_TRUE(s) << to_string(s.error());
    store = std::move(*s);
    actors::runtime_options ro;
    ro.scheduler_threads = 2;
    cfg = actors::make_actor_system_config(ro);
    sys = std::make_unique<caf::actor_system>(*cfg);
  }

  void TearDown() override {
    if (writer)
      caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    writer = nullptr;
    sys.reset();
    store.reset();
  }

  /// The store's RocksDB environment; tests may override it.
  virtual std::shared_ptr<rocksdb::Env> env() {
    return nullptr;
  }

  /// The store's clock; tests may override it.
  virtual int64_t clock() {
    return 1'700'000'000'000'000;
  }

  temp_dir dir{"writer"};
  std::unique_ptr<events::event_store> store;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  events::writer_actor writer;
};

} // namespace billow::test
