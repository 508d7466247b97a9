// Module host actors: hooks delivered in log order with positions, per-module
// cursors that survive a restart, failures retried with backoff on the
// manual clock (recorded as module.hook_failed) without holding up other
// modules, and module logs written as redacted, bounded module.log events.

#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "actors/clock.hpp"
#include "actors/runtime.hpp"
#include "actors/worker_pool.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"
#include "modules/host/module_catalog.hpp"
#include "modules/host/module_host.hpp"
#include "modules/host/module_log.hpp"
#include "modules/sdk/lifecycle.hpp"
#include "modules/sdk/module_context.hpp"
#include "modules/sdk/plugin.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using namespace std::chrono_literals;
namespace sdk = billow::modules::sdk;

namespace {

/// A test-only module: records what its hooks receive; fails (or throws
/// on) events whose payload says `"fail": true`, `fail_times` times each.
class hook_module : public sdk::plugin {
public:
  explicit hook_module(std::vector<std::string> types)
    : types_(std::move(types)) {
    // nop
  }

  std::vector<std::string> hooks() const override {
    return types_;
  }

  caf::expected<void> on_event(const sdk::hook_event& ev) override {
    std::unique_lock guard{mtx_};
    ++calls_;
    in_hook_ = true;
    cv_.notify_all();
    cv_.wait(guard, [&] {
      return !gate_closed_;
    });
    in_hook_ = false;
    if (auto* f = ev.payload.if_contains("fail");
        f && f->is_bool() && f->as_bool()) {
      if (failed_[ev.position]++ < fail_times) {
        cv_.notify_all();
        if (throws) {
          guard.unlock();
          throw std::runtime_error("hook blew up at "
                                   + std::to_string(ev.position));
        }
        return make_error(billow_errc::module_failure,
                          "hook refused " + std::to_string(ev.position));
      }
    }
    seen_.push_back(ev);
    cv_.notify_all();
    return caf::unit;
  }

  /// Waits (real time, no sleeping) until `n` events were delivered.
  bool wait_seen(size_t n) {
    std::unique_lock guard{mtx_};
    return cv_.wait_for(guard, 10s, [&] {
      return seen_.size() >= n;
    });
  }

  /// Waits until the hook was called `n` times in all.
  bool wait_calls(size_t n) {
    std::unique_lock guard{mtx_};
    return cv_.wait_for(guard, 10s, [&] {
      return calls_ >= n;
    });
  }

  std::vector<sdk::hook_event> seen() const {
    std::lock_guard guard{mtx_};
    return seen_;
  }

  std::vector<uint64_t> positions() const {
    std::vector<uint64_t> out;
    for (auto& ev : seen())
      out.push_back(ev.position);
    return out;
  }

  size_t calls() const {
    std::lock_guard guard{mtx_};
    return calls_;
  }

  caf::expected<void> activate() override {
    if (activate_throws)
      throw std::logic_error("activate exploded");
    return caf::unit;
  }

  caf::expected<void> deactivate() override {
    std::lock_guard guard{mtx_};
    deactivated_on = std::this_thread::get_id();
    deactivated_during_hook = in_hook_;
    return caf::unit;
  }

  /// Makes the next hook call wait until `open_gate`.
  void close_gate() {
    std::lock_guard guard{mtx_};
    gate_closed_ = true;
  }

  void open_gate() {
    std::lock_guard guard{mtx_};
    gate_closed_ = false;
    cv_.notify_all();
  }

  /// Waits until a hook call waits at the gate.
  bool wait_in_hook() {
    std::unique_lock guard{mtx_};
    return cv_.wait_for(guard, 10s, [&] {
      return in_hook_;
    });
  }

  int fail_times = 0;
  bool throws = false;
  bool activate_throws = false;
  std::thread::id deactivated_on;
  bool deactivated_during_hook = false;

private:
  std::vector<std::string> types_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<sdk::hook_event> seen_;
  std::map<uint64_t, int> failed_;
  size_t calls_ = 0;
  bool gate_closed_ = false;
  bool in_hook_ = false;
};

class hooks_test : public ::testing::Test {
protected:
  void SetUp() override {
    open();
  }

  void TearDown() override {
    close();
  }

  /// Opens store, actor system, writer, pool and the module hosts.
  void open() {
    events::store_options so;
    so.dir = dir.sub("db");
    so.clock = [this] {
      return clock.now_us();
    };
    auto s = events::event_store::open(std::move(so));
    ASSERT_TRUE(s) << to_string(s.error());
    store = std::move(*s);
    actors::runtime_options ro;
    ro.scheduler_threads = 2;
    cfg = actors::make_actor_system_config(ro);
    sys = std::make_unique<caf::actor_system>(*cfg);
    pool = std::make_unique<actors::worker_pool>(2);
    writer = events::make_writer(*sys, *store);
    modules::hook_options ho;
    ho.first_backoff = 1s;
    ho.max_backoff = 4s;
    ho.page_size = 4; // several rounds of reads in every test
    ho.timeout = 30s;
    hosts = std::make_unique<modules::module_hosts>(
      *sys, modules::host_context{store.get(), writer, &clock, pool.get(), ho});
  }

  /// Stops everything in shutdown order (as application::stop does).
  void close() {
    if (!sys)
      return;
    hosts->stop_all();
    if (logs)
      logs->stop();
    {
      caf::scoped_actor self{*sys};
      self->send_exit(writer, caf::exit_reason::user_shutdown);
      self->wait_for(writer);
    }
    writer = nullptr;
    pool.reset(); // running hook calls finish before the system goes
    hosts.reset();
    logs.reset();
    sys.reset();
    store.reset();
  }

  /// Appends one event through the writer; answers its position.
  uint64_t append(const std::string& stream, const std::string& type,
                  const boost::json::object& payload = {}) {
    events::new_event ev;
    ev.event_id = events::uuid::random();
    ev.type = type;
    ev.actor = "system";
    ev.payload = boost::json::serialize(payload);
    uint64_t pos = 0;
    caf::scoped_actor self{*sys};
    self
      ->request(writer, 10s, events::append_atom::value, stream,
                events::expected_version::any(),
                std::vector<events::new_event>{std::move(ev)})
      .receive(
        [&](const events::append_result& r) {
          pos = r.first_position;
        },
        [&](caf::error& err) {
          ADD_FAILURE() << to_string(err);
        });
    return pos;
  }

  /// The events of `type` in `stream`, in order.
  std::vector<events::envelope> events_of(const std::string& stream,
                                          const std::string& type) {
    std::vector<events::envelope> out;
    auto evs = store->read_stream(stream, 1, events::read_direction::forward,
                                  SIZE_MAX);
    EXPECT_TRUE(evs);
    if (evs)
      for (auto& e : *evs)
        if (e.type == type)
          out.push_back(e);
    return out;
  }

  /// Waits until `stream` holds `n` events of `type`.
  bool wait_events(const std::string& stream, const std::string& type,
                   size_t n) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (events_of(stream, type).size() >= n)
        return true;
      std::this_thread::yield();
    }
    return false;
  }

  static boost::json::object payload_of(const events::envelope& e) {
    return boost::json::parse(e.payload).as_object();
  }

  test::temp_dir dir{"hooks"};
  actors::manual_clock clock;
  std::unique_ptr<events::event_store> store;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<actors::worker_pool> pool;
  events::writer_actor writer;
  std::unique_ptr<modules::module_hosts> hosts;
  std::shared_ptr<modules::event_log_sink> logs;
};

const std::string a_stream = modules::module_catalog::stream_of("Plugin", "a");
const std::string b_stream = modules::module_catalog::stream_of("Plugin", "b");

} // namespace

TEST_F(hooks_test, a_module_receives_the_events_of_its_types_in_log_order) {
  append("service-0", "service.created"); // before activation: not delivered
  auto mod = std::make_shared<hook_module>(
    std::vector<std::string>{"service.created", "invoice.paid"});
  hosts->started("Plugin", "a", mod, true);
  std::vector<uint64_t> expected;
  for (int i = 0; i < 30; ++i) {
    auto stream = "service-" + std::to_string(i % 3);
    auto type = i % 3 == 0 ? "service.created"
      : i % 3 == 1         ? "invoice.paid"
                           : "service.renewed";
    auto pos = append(stream, type, {{"i", i}});
    if (i % 3 != 2)
      expected.push_back(pos);
  }
  ASSERT_TRUE(mod->wait_seen(expected.size()));
  EXPECT_EQ(mod->positions(), expected);
  auto seen = mod->seen();
  EXPECT_EQ(seen[0].type, "service.created");
  EXPECT_EQ(seen[0].stream, "service-0");
  EXPECT_EQ(seen[0].payload.at("i").as_int64(), 0);
  EXPECT_EQ(seen[1].type, "invoice.paid");
  EXPECT_EQ(seen[1].payload.at("i").as_int64(), 1);
  // The cursor follows deliveries.
  ASSERT_TRUE(mod->wait_seen(expected.size()));
  auto counters = hosts->counters("Plugin", "a");
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (counters->last_position.load() != expected.back()
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  auto cp = store->load_checkpoint(
    modules::module_hosts::checkpoint_of("Plugin", "a"));
  ASSERT_TRUE(cp);
  EXPECT_EQ(*cp, expected.back());
  EXPECT_EQ(mod->calls(), expected.size()); // nothing twice
}

TEST_F(hooks_test, failing_hook_is_retried_with_backoff_while_others_flow) {
  auto a
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  auto b
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  a->fail_times = 3;
  hosts->started("Plugin", "a", a, true);
  hosts->started("Plugin", "b", b, true);
  auto p1 = append("s-1", "x.happened", {{"n", 1}});
  auto p2 = append("s-1", "x.happened", {{"n", 2}, {"fail", true}});
  auto p3 = append("s-1", "x.happened", {{"n", 3}});
  // b gets everything while a is stuck at p2.
  ASSERT_TRUE(b->wait_seen(3));
  EXPECT_EQ(b->positions(), (std::vector<uint64_t>{p1, p2, p3}));
  ASSERT_TRUE(wait_events(a_stream, "module.hook_failed", 1));
  EXPECT_EQ(a->positions(), (std::vector<uint64_t>{p1}));
  auto t0 = clock.now();
  auto f1 = payload_of(events_of(a_stream, "module.hook_failed")[0]);
  EXPECT_EQ(f1.at("position").to_number<uint64_t>(), p2);
  EXPECT_EQ(f1.at("attempt").to_number<uint64_t>(), 1u);
  EXPECT_EQ(f1.at("kind").as_string(), "error");
  EXPECT_EQ(f1.at("error").as_string(), "hook refused " + std::to_string(p2));
  EXPECT_EQ(f1.at("event_type").as_string(), "x.happened");
  EXPECT_EQ(f1.at("retry_at_us").as_int64(), actors::to_us(t0 + 1s));
  // Backoff 1 s, then 2 s, then 4 s (the cap).
  ASSERT_TRUE(clock.wait_for_pending(1, 10s));
  clock.advance(999ms);
  EXPECT_EQ(a->calls(), 2u); // not yet
  clock.advance(1ms);
  ASSERT_TRUE(wait_events(a_stream, "module.hook_failed", 2));
  auto f2 = payload_of(events_of(a_stream, "module.hook_failed")[1]);
  EXPECT_EQ(f2.at("attempt").to_number<uint64_t>(), 2u);
  EXPECT_EQ(f2.at("retry_at_us").as_int64(), actors::to_us(t0 + 3s));
  ASSERT_TRUE(clock.wait_for_pending(1, 10s));
  clock.advance(2s);
  ASSERT_TRUE(wait_events(a_stream, "module.hook_failed", 3));
  auto f3 = payload_of(events_of(a_stream, "module.hook_failed")[2]);
  EXPECT_EQ(f3.at("retry_at_us").as_int64(), actors::to_us(t0 + 7s));
  // Meanwhile b keeps flowing.
  auto p4 = append("s-2", "x.happened", {{"n", 4}});
  ASSERT_TRUE(b->wait_seen(4));
  EXPECT_EQ(b->positions().back(), p4);
  EXPECT_EQ(a->positions(), (std::vector<uint64_t>{p1}));
  ASSERT_TRUE(clock.wait_for_pending(1, 10s));
  clock.advance(4s);
  ASSERT_TRUE(a->wait_seen(4));
  EXPECT_EQ(a->positions(), (std::vector<uint64_t>{p1, p2, p3, p4}));
  EXPECT_EQ(hosts->counters("Plugin", "a")->failures.load(), 3u);
  EXPECT_TRUE(events_of(b_stream, "module.hook_failed").empty());
}

TEST_F(hooks_test, throwing_hook_becomes_hook_failed_and_billow_goes_on) {
  auto a
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  a->fail_times = 1;
  a->throws = true;
  hosts->started("Plugin", "a", a, true);
  auto p1 = append("s-1", "x.happened", {{"fail", true}});
  ASSERT_TRUE(wait_events(a_stream, "module.hook_failed", 1));
  auto f = payload_of(events_of(a_stream, "module.hook_failed")[0]);
  EXPECT_EQ(f.at("kind").as_string(), "exception");
  EXPECT_EQ(f.at("error").as_string(), "hook blew up at " + std::to_string(p1));
  ASSERT_TRUE(clock.wait_for_pending(1, 10s));
  clock.advance(1s);
  ASSERT_TRUE(a->wait_seen(1));
  EXPECT_EQ(a->positions(), (std::vector<uint64_t>{p1}));
  // The log still takes appends.
  EXPECT_GT(append("s-1", "x.other"), p1);
}

TEST_F(hooks_test, restart_resumes_from_the_cursor_without_skipping) {
  auto a
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  a->fail_times = 1000; // fails for good in the first run
  hosts->started("Plugin", "a", a, true);
  std::vector<uint64_t> first;
  first.reserve(5);
  for (int i = 0; i < 5; ++i)
    first.push_back(append("s-1", "x.happened", {{"n", i}}));
  auto stuck = append("s-1", "x.happened", {{"n", 5}, {"fail", true}});
  ASSERT_TRUE(a->wait_seen(5));
  ASSERT_TRUE(wait_events(a_stream, "module.hook_failed", 1));
  EXPECT_EQ(a->positions(), first);
  close();

  // The store and runtime come back; more events arrive before the module
  // is started again (at start-up, not a fresh activation).
  open();
  auto later = append("s-2", "x.happened", {{"n", 6}});
  auto again
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  hosts->started("Plugin", "a", again, false);
  auto last = append("s-2", "x.happened", {{"n", 7}});
  ASSERT_TRUE(again->wait_seen(3));
  // The failed event comes again, nothing delivered before does.
  EXPECT_EQ(again->positions(), (std::vector<uint64_t>{stuck, later, last}));
  EXPECT_EQ(again->calls(), 3u);
}

TEST_F(hooks_test, a_fresh_activation_starts_at_the_end_of_the_log) {
  auto a
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  hosts->started("Plugin", "a", a, true);
  auto p1 = append("s-1", "x.happened");
  ASSERT_TRUE(a->wait_seen(1));
  hosts->stopped("Plugin", "a");
  append("s-1", "x.happened"); // while inactive
  auto again
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  hosts->started("Plugin", "a", again, true);
  auto p3 = append("s-1", "x.happened");
  ASSERT_TRUE(again->wait_seen(1));
  EXPECT_EQ(again->positions(), (std::vector<uint64_t>{p3}));
  EXPECT_EQ(a->positions(), (std::vector<uint64_t>{p1}));
}

TEST_F(hooks_test, deactivation_stops_delivery_and_the_actor) {
  auto a
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  auto b
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  hosts->started("Plugin", "a", a, true);
  hosts->started("Plugin", "b", b, true);
  auto p1 = append("s-1", "x.happened");
  ASSERT_TRUE(a->wait_seen(1));
  auto host = hosts->host_of("Plugin", "a");
  ASSERT_TRUE(host);
  caf::scoped_actor self{*sys};
  self->monitor(host);
  hosts->stopped("Plugin", "a");
  EXPECT_FALSE(hosts->host_of("Plugin", "a"));
  bool down = false;
  self->receive(
    [&](const caf::down_msg& msg) {
      down = msg.source == host.address();
    },
    caf::after(10s) >> [] {});
  EXPECT_TRUE(down);
  host = nullptr;
  // b still gets what follows, a does not.
  auto p2 = append("s-1", "x.happened");
  ASSERT_TRUE(b->wait_seen(2));
  EXPECT_EQ(b->positions(), (std::vector<uint64_t>{p1, p2}));
  EXPECT_EQ(a->positions(), (std::vector<uint64_t>{p1}));
  EXPECT_EQ(hosts->size(), 1u);
}

TEST_F(hooks_test, the_catalog_spawns_and_stops_a_host_per_active_module) {
  // Appends go through the writer, as in a running server.
  modules::module_catalog catalog{
    *store,
    [this](const std::string& s, events::expected_version v,
           std::vector<events::new_event> evs)
      -> caf::expected<events::append_result> {
      caf::expected<events::append_result> out{caf::none};
      caf::scoped_actor self{*sys};
      self
        ->request(writer, 10s, events::append_atom::value, s, v, std::move(evs))
        .receive(
          [&](const events::append_result& r) {
            out = r;
          },
          [&](caf::error& err) {
            out = std::move(err);
          });
      return out;
    },
    BILLOW_BUILT_MODULES_DIR};
  std::shared_ptr<modules::module_hosts> shared{hosts.get(), [](auto*) {}};
  catalog.set_listener(shared);
  ASSERT_TRUE(catalog.scan("system"));
  EXPECT_EQ(hosts->size(), 0u);
  ASSERT_TRUE(catalog.activate("Notification", "smtp", "admin:a1"));
  EXPECT_TRUE(hosts->host_of("Notification", "smtp"));
  // A log line in between does not upset the catalog's own appends.
  append(modules::module_catalog::stream_of("Notification", "smtp"),
         "module.log", {{"level", "info"}});
  auto off = catalog.deactivate("Notification", "smtp", "admin:a1");
  ASSERT_TRUE(off) << to_string(off.error());
  EXPECT_EQ(off->status, "inactive");
  EXPECT_FALSE(hosts->host_of("Notification", "smtp"));
  ASSERT_TRUE(catalog.activate("Notification", "smtp", "admin:a1"));
  // A rescan (start-up) keeps it running, over the reloaded object.
  ASSERT_TRUE(catalog.scan("system"));
  EXPECT_TRUE(hosts->host_of("Notification", "smtp"));
  hosts->stop_all();
}

TEST_F(hooks_test, module_logs_are_redacted_events_in_the_module_stream) {
  logs = std::make_shared<modules::event_log_sink>(*sys, writer);
  sdk::context_options co;
  co.manifest.name = "a";
  co.manifest.type = sdk::module_type::plugin;
  co.log = logs;
  auto mod = std::make_shared<hook_module>(std::vector<std::string>{});
  mod->attach(std::make_shared<sdk::module_context>(std::move(co)));
  mod->log_info("create_job", "made a database",
                {{"user", "u1"},
                 {"admin_password", "hunter2"},
                 {"nested", {{"api_key", "k-123"}, {"port", 5432}}}});
  mod->log_error("create_job", "failed", {{"why", "timeout"}});
  mod->log_debug("create_job", "detail");
  ASSERT_TRUE(wait_events(a_stream, "module.log", 3));
  auto evs = events_of(a_stream, "module.log");
  auto first = payload_of(evs[0]);
  EXPECT_EQ(first.at("level").as_string(), "info");
  EXPECT_EQ(first.at("action").as_string(), "create_job");
  EXPECT_EQ(first.at("message").as_string(), "made a database");
  auto& ctx = first.at("context").as_object();
  EXPECT_EQ(ctx.at("user").as_string(), "u1");
  EXPECT_EQ(ctx.at("admin_password").as_string(), "[redacted]");
  EXPECT_EQ(ctx.at("nested").at("api_key").as_string(), "[redacted]");
  EXPECT_EQ(ctx.at("nested").at("port").as_int64(), 5432);
  EXPECT_EQ(evs[0].actor, "module:Plugin/a");
  EXPECT_EQ(payload_of(evs[1]).at("level").as_string(), "error");
  EXPECT_EQ(payload_of(evs[2]).at("level").as_string(), "debug");
  for (auto& e : evs)
    EXPECT_EQ(e.payload.find("hunter2"), std::string::npos);
}

TEST_F(hooks_test, a_log_flood_is_bounded_and_counts_what_it_dropped) {
  constexpr size_t capacity = 16;
  logs = std::make_shared<modules::event_log_sink>(*sys, writer, capacity);
  sdk::context_options co;
  co.manifest.name = "a";
  co.manifest.type = sdk::module_type::plugin;
  co.log = logs;
  auto mod = std::make_shared<hook_module>(std::vector<std::string>{});
  mod->attach(std::make_shared<sdk::module_context>(std::move(co)));
  constexpr size_t n = 2000;
  size_t most_pending = 0;
  for (size_t i = 0; i < n; ++i) {
    mod->log_debug("flood", "line " + std::to_string(i));
    most_pending = std::max(most_pending, logs->pending());
  }
  EXPECT_LE(most_pending, capacity);
  auto st = logs->stats();
  EXPECT_GT(st.dropped_debug, 0u);
  EXPECT_EQ(st.queued + st.dropped_debug, n);
  // Everything queued lands, and the drops are on record.
  auto recorded = [&] {
    uint64_t sum = 0;
    for (auto& e : events_of(a_stream, "module.log_dropped"))
      sum += payload_of(e).at("debug").to_number<uint64_t>();
    return sum;
  };
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((events_of(a_stream, "module.log").size() < st.queued
          || recorded() < st.dropped_debug)
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_EQ(events_of(a_stream, "module.log").size(), st.queued);
  EXPECT_EQ(recorded(), st.dropped_debug);
  // Info and error lines still have room while debug lines are dropped.
  mod->log_error("flood", "the one that matters");
  EXPECT_EQ(logs->stats().dropped_error, 0u);
}

TEST_F(hooks_test, lifecycle_calls_run_through_the_host_never_beside_a_hook) {
  auto a
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  hosts->started("Plugin", "a", a, true);
  a->close_gate();
  auto p1 = append("s-1", "x.happened");
  ASSERT_TRUE(a->wait_in_hook());
  // deactivate() waits for the hook in flight, then runs on the pool.
  std::vector<sdk::lifecycle_step> off{{sdk::lifecycle_step::deactivate, {}}};
  auto done = std::async(std::launch::async, [&] {
    return hosts->run_lifecycle("Plugin", "a", a, off);
  });
  EXPECT_EQ(done.wait_for(50ms), std::future_status::timeout);
  a->open_gate();
  auto res = done.get();
  ASSERT_TRUE(res) << to_string(res.error());
  EXPECT_FALSE(a->deactivated_during_hook);
  EXPECT_NE(a->deactivated_on, std::thread::id{});
  EXPECT_NE(a->deactivated_on, std::this_thread::get_id());
  EXPECT_EQ(a->positions(), (std::vector<uint64_t>{p1}));
  // Deactivated: no hook runs any more, even before the host is stopped.
  auto b
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  hosts->started("Plugin", "b", b, true);
  auto p2 = append("s-1", "x.happened");
  ASSERT_TRUE(b->wait_seen(1));
  EXPECT_EQ(b->positions(), (std::vector<uint64_t>{p2}));
  EXPECT_EQ(a->calls(), 1u);
}

TEST_F(hooks_test, a_throwing_lifecycle_call_is_a_clear_error) {
  auto a
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  a->activate_throws = true;
  std::vector<sdk::lifecycle_step> on{{sdk::lifecycle_step::activate, {}}};
  auto res = hosts->run_lifecycle("Plugin", "a", a, on);
  ASSERT_FALSE(res);
  EXPECT_EQ(errc_of(res.error()), billow_errc::module_failure);
  EXPECT_EQ(detail_of(res.error()), "activate threw: activate exploded");
  // The host made for the call still serves the next one.
  a->activate_throws = false;
  EXPECT_TRUE(hosts->run_lifecycle("Plugin", "a", a, on));
}

TEST_F(hooks_test, a_hung_hook_times_out_on_the_clock_and_is_retried) {
  auto a
    = std::make_shared<hook_module>(std::vector<std::string>{"x.happened"});
  hosts->started("Plugin", "a", a, true);
  a->close_gate();
  auto p1 = append("s-1", "x.happened");
  ASSERT_TRUE(a->wait_in_hook());
  ASSERT_TRUE(clock.wait_for_pending(1, 10s)); // the call's timeout
  clock.advance(30s);
  ASSERT_TRUE(wait_events(a_stream, "module.hook_failed", 1));
  auto f = payload_of(events_of(a_stream, "module.hook_failed")[0]);
  EXPECT_EQ(f.at("kind").as_string(), "timeout");
  EXPECT_EQ(f.at("position").to_number<uint64_t>(), p1);
  EXPECT_EQ(f.at("error").as_string(), "hook call exceeded 30000 ms");
  EXPECT_EQ(pool->abandoned(), 1u);
  // The hung call ends late (its answer is ignored); the retry delivers
  // the event again: at least once.
  a->open_gate();
  ASSERT_TRUE(a->wait_seen(1));
  ASSERT_TRUE(clock.wait_for_pending(1, 10s));
  clock.advance(1s);
  ASSERT_TRUE(a->wait_seen(2));
  EXPECT_EQ(a->positions(), (std::vector<uint64_t>{p1, p1}));
  EXPECT_EQ(events_of(a_stream, "module.hook_failed").size(), 1u);
}
