// Slow reads do not stall the API (issue 25): a read waiting for
// `?min_position=` holds no thread, and Argon2id logins run on a bounded pool
// of their own. Parts first (the position gate's callbacks, the read waits'
// deadline, the password pool's limits), then a real server: logins and
// store reads answer at once while many reads wait.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <regex>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "api/password_pool.hpp"
#include "api/read_waits.hpp"
#include "events/event_store.hpp"
#include "projections/position_gate.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using billow::test::http_connection;
using billow::test::http_reply;
namespace json = boost::json;

namespace {

using steady = std::chrono::steady_clock;

TEST(position_gate_test, waiters_run_once_the_position_is_reached) {
  billow::projections::position_gate gate;
  gate.set(5);
  std::vector<int> ran;
  EXPECT_EQ(gate.add_waiter(5,
                            [&] {
                              ran.push_back(0);
                            }),
            0u); // there
  auto seven = gate.add_waiter(7, [&] {
    ran.push_back(7);
  });
  auto six = gate.add_waiter(6, [&] {
    ran.push_back(6);
  });
  auto nine = gate.add_waiter(9, [&] {
    ran.push_back(9);
  });
  EXPECT_NE(seven, 0u);
  EXPECT_NE(six, 0u);
  EXPECT_EQ(gate.waiting(), 3u);
  EXPECT_TRUE(gate.cancel(nine));
  EXPECT_FALSE(gate.cancel(nine));
  gate.raise(6);
  EXPECT_EQ(ran, (std::vector<int>{6}));
  gate.set(100);
  EXPECT_EQ(ran, (std::vector<int>{6, 7}));
  EXPECT_FALSE(gate.cancel(seven)); // it ran
  EXPECT_EQ(gate.waiting(), 0u);
}

/// Runs posted functions on a thread of its own, as the I/O loop would.
class post_thread {
public:
  post_thread()
    : thread_([this] {
        run();
      }) {}
  ~post_thread() {
    {
      std::lock_guard guard{mtx_};
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void post(std::function<void()> fn) {
    {
      std::lock_guard guard{mtx_};
      queue_.push_back(std::move(fn));
    }
    cv_.notify_all();
  }

  std::thread::id id() const {
    return thread_.get_id();
  }

private:
  void run() {
    std::unique_lock guard{mtx_};
    for (;;) {
      cv_.wait(guard, [this] {
        return stop_ || !queue_.empty();
      });
      if (queue_.empty())
        return;
      auto fn = std::move(queue_.front());
      queue_.erase(queue_.begin());
      guard.unlock();
      fn();
      guard.lock();
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

TEST(read_waits_test, one_of_reached_and_late_runs_through_post) {
  post_thread io;
  billow::api::read_waits waits{[&](std::function<void()> fn) {
    io.post(std::move(fn));
  }};
  auto gate = std::make_shared<billow::projections::position_gate>();
  gate->set(10);
  // Reached already: at once, here.
  bool now = false;
  waits.when_reached(
    gate, 10, 1s,
    [&] {
      now = true;
    },
    [] {
      FAIL() << "late";
    });
  EXPECT_TRUE(now);
  // Reached later: through post, not on the thread that raised the gate.
  std::promise<std::thread::id> reached;
  waits.when_reached(
    gate, 12, 30s,
    [&] {
      reached.set_value(std::this_thread::get_id());
    },
    [] {
      ADD_FAILURE() << "late";
    });
  EXPECT_EQ(waits.waiting(), 1u);
  gate->raise(12);
  auto fut = reached.get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(fut.get(), io.id());
  EXPECT_EQ(waits.waiting(), 0u);
  // Not reached in time: late, after the wait, and the gate keeps nothing.
  std::promise<steady::duration> late;
  auto t0 = steady::now();
  waits.when_reached(
    gate, 1000, 200ms,
    [] {
      ADD_FAILURE() << "reached";
    },
    [&] {
      late.set_value(steady::now() - t0);
    });
  auto took = late.get_future();
  ASSERT_EQ(took.wait_for(10s), std::future_status::ready);
  EXPECT_GE(took.get(), 200ms);
  EXPECT_EQ(gate->waiting(), 0u);
  EXPECT_EQ(waits.waiting(), 0u);
  gate->set(1000); // nothing runs now
}

TEST(read_waits_test, nothing_runs_after_close) {
  std::atomic<int> ran{0};
  billow::api::read_waits waits{[&](const std::function<void()>& fn) {
    fn();
  }};
  auto gate = std::make_shared<billow::projections::position_gate>();
  auto held = std::make_shared<int>(0); // stands for a route's backend
  std::weak_ptr<int> watch = held;
  std::function<void()> count = [&ran, held] {
    ++ran;
  };
  held.reset();
  waits.when_reached(gate, 1, 30s, count, count);
  waits.when_reached(gate, 2, 60s, count, count);
  count = nullptr;
  EXPECT_EQ(gate->waiting(), 2u);
  EXPECT_FALSE(watch.expired());
  waits.close();
  // The gate outlives the waits and keeps nothing of them.
  EXPECT_EQ(gate->waiting(), 0u);
  EXPECT_EQ(waits.waiting(), 0u);
  EXPECT_TRUE(watch.expired());
  gate->set(5);
  waits.when_reached(
    gate, 9, 10ms,
    [&] {
      ++ran;
    },
    [&] {
      ++ran;
    });
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(gate->waiting(), 0u);
}

TEST(password_pool_test, refuses_beyond_its_queue_and_per_address_share) {
  using admission = billow::api::password_pool::admission;
  billow::api::password_pool pool{1, 2, 1};
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> ran{0};
  auto task = [&, released] {
    released.wait();
    ++ran;
  };
  EXPECT_EQ(pool.try_submit("10.0.0.1:4000", task), admission::queued);
  // The port is not part of the address.
  EXPECT_EQ(pool.try_submit("10.0.0.1:4001", task), admission::address_full);
  EXPECT_EQ(pool.try_submit("[::1]:4000", task), admission::queued);
  EXPECT_EQ(pool.try_submit("10.0.0.2:4000", task), admission::full);
  EXPECT_EQ(pool.load(), 2u);
  EXPECT_GE(pool.retry_after_seconds(), 1u);
  release.set_value();
  for (int i = 0; i < 500 && pool.load() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(pool.load(), 0u);
  EXPECT_EQ(ran, 2);
}

TEST(password_pool_test, stop_drops_what_is_queued_and_waits_for_the_rest) {
  using admission = billow::api::password_pool::admission;
  billow::api::password_pool pool{1, 4, 4};
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> started;
  EXPECT_EQ(pool.try_submit("a",
                            [&] {
                              started.set_value();
                              released.wait();
                              ++ran;
                            }),
            admission::queued);
  started.get_future().wait();
  auto dropped = std::make_shared<int>(0); // its task holds the only copy
  std::weak_ptr<int> watch = dropped;
  EXPECT_EQ(pool.try_submit("a",
                            [&, d = std::move(dropped)] {
                              ++ran;
                            }),
            admission::queued);
  auto stopping = std::async(std::launch::async, [&] {
    pool.stop();
  });
  for (int i = 0; i < 1000 && pool.load() > 1; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(pool.load(), 1u);   // the queued one is gone
  EXPECT_TRUE(watch.expired()); // and destroyed (its request answers 503)
  release.set_value();
  stopping.get();
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(pool.try_submit("a", [] {}), admission::full);
}

// -- a real server ------------------------------------------------------------

class slow_read_test : public ::testing::Test {
protected:
  void start(std::chrono::milliseconds read_wait,
             const std::function<void(billow::api::application_options&)>& tune
             = {}) {
    data_ = dir_.path() / "data";
    std::filesystem::create_directories(data_);
    {
      auto store = billow::api::open_data_dir(data_);
      ASSERT_TRUE(store);
      ASSERT_TRUE(billow::api::create_admin(**store, "owner@example.com",
                                            "owner-password", "owner"));
    }
    billow::api::application_options opts;
    opts.http.port = 0;
    opts.http.io_threads = 2;
    opts.runtime.scheduler_threads = 2;
    opts.data_dir = data_;
    opts.read_wait = read_wait;
    if (tune)
      tune(opts);
    app_ = std::make_unique<billow::api::application>(opts);
    ASSERT_FALSE(app_->start());
    conn_ = std::make_unique<http_connection>(app_->port(), 60s);
    auto reply = login();
    ASSERT_EQ(reply.status, 200u) << reply.body;
    token_ = std::string{json::parse(reply.body).at("token").as_string()};
  }

  void TearDown() override {
    conn_.reset();
    app_.reset();
  }

  http_reply login(const std::string& password = "owner-password") {
    return conn_->request(
      "POST", "/api/v1/auth/admin/token",
      json::serialize(
        json::object{{"email", "owner@example.com"}, {"password", password}}));
  }

  http_reply get(http_connection& conn, const std::string& target) {
    return conn.request("GET", target, {},
                        {{"Authorization", "Bearer " + token_}});
  }

  /// `billow_read_waits` from /metrics.
  int read_waits() {
    auto text = conn_->request("GET", "/metrics").body;
    std::smatch m;
    if (!std::regex_search(text, m, std::regex{"\nbillow_read_waits (\\d+)"}))
      return -1;
    return std::stoi(m[1]);
  }

  /// Polls until `n` reads wait (at most 10 s).
  bool until_waiting(int n) {
    for (int i = 0; i < 1000; ++i) {
      if (read_waits() == n)
        return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  /// A client (one event); answers the log position of its event.
  uint64_t create_client(const std::string& name) {
    auto reply = conn_->request(
      "POST", "/api/v1/admin/clients",
      json::serialize(json::object{
        {"name", name}, {"email", name + "@x.test"}, {"currency", "EUR"}}),
      {{"Authorization", "Bearer " + token_}});
    EXPECT_EQ(reply.status, 201u) << reply.body;
    return std::stoull(reply.header("x-billow-position"));
  }

  /// One reader per target, each on its own connection.
  struct reader {
    std::string target;
    std::future<std::pair<http_reply, steady::duration>> answer;
  };

  std::vector<reader> start_readers(const std::vector<std::string>& targets) {
    std::vector<reader> out;
    out.reserve(targets.size());
    for (const auto& t : targets)
      out.push_back({t, std::async(std::launch::async, [this, t] {
                       http_connection conn{app_->port(), 60s};
                       auto t0 = steady::now();
                       auto reply = get(conn, t);
                       return std::pair{reply, steady::now() - t0};
                     })});
    return out;
  }

  billow::test::temp_dir dir_{"read-wait"};
  std::filesystem::path data_;
  std::unique_ptr<billow::api::application> app_;
  std::unique_ptr<http_connection> conn_;
  std::string token_;
};

/// The reads of the issue: each waits for a position the log will not
/// reach, on every route that takes `min_position`.
std::vector<std::string> unreachable_reads(int n) {
  const std::vector<std::string> routes
    = {"/api/v1/admin/services", "/api/v1/admin/clients",
       "/api/v1/admin/products", "/api/v1/admin/jobs",
       "/api/v1/admin/services/"
         + billow::events::to_string(billow::events::uuid::random())};
  std::vector<std::string> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i)
    out.push_back(routes[i % routes.size()] + "?min_position=999999999");
  return out;
}

TEST_F(slow_read_test, logins_and_store_reads_answer_while_reads_wait) {
  constexpr auto read_wait = 8s;
  start(read_wait); // the default two blocking and two password threads
  auto readers = start_readers(unreachable_reads(16));
  ASSERT_TRUE(until_waiting(16)) << "billow_read_waits: " << read_waits();
  // With the waits on the blocking pool (two threads, 8 s each) this login
  // took 64 s; the assertion leaves it half the read wait.
  auto t0 = steady::now();
  auto good = login();
  auto bad = login("not-the-password");
  auto logins_took = steady::now() - t0;
  EXPECT_EQ(good.status, 200u) << good.body;
  EXPECT_EQ(bad.status, 401u) << bad.body;
  // A read on the blocking pool (a client folded from its stream).
  auto id = billow::events::to_string(billow::events::uuid::random());
  EXPECT_EQ(get(*conn_, "/api/v1/admin/clients/" + id).status, 404u);
  auto all_took = steady::now() - t0;
  EXPECT_LT(logins_took, read_wait / 2);
  EXPECT_LT(all_took, read_wait / 2);
  for (auto& r : readers)
    EXPECT_EQ(r.answer.wait_for(0s), std::future_status::timeout)
      << r.target << " answered before its read wait";
  EXPECT_EQ(read_waits(), 16);
  for (auto& r : readers) {
    auto [reply, took] = r.answer.get();
    EXPECT_EQ(reply.status, 504u) << r.target << ": " << reply.body;
    EXPECT_EQ(reply.header("content-type"), "application/problem+json");
    EXPECT_NE(reply.body.find("has not reached log position 999999999"),
              std::string::npos)
      << reply.body;
    EXPECT_GE(took, read_wait) << r.target;
  }
  EXPECT_EQ(read_waits(), 0);
}

TEST_F(slow_read_test, waiting_reads_answer_once_the_projection_gets_there) {
  constexpr auto read_wait = 30s;
  start(read_wait);
  auto head = create_client("first");
  auto want = std::to_string(head + 2);
  std::vector<std::string> targets;
  targets.reserve(8);
  for (int i = 0; i < 8; ++i)
    targets.push_back("/api/v1/admin/clients?min_position=" + want);
  auto readers = start_readers(targets);
  ASSERT_TRUE(until_waiting(8)) << "billow_read_waits: " << read_waits();
  create_client("second");
  create_client("third");
  for (auto& r : readers) {
    ASSERT_EQ(r.answer.wait_for(read_wait / 3), std::future_status::ready)
      << r.target;
    auto [reply, took] = r.answer.get();
    ASSERT_EQ(reply.status, 200u) << reply.body;
    EXPECT_GE(std::stoull(reply.header("x-billow-position")), head + 2);
    EXPECT_EQ(json::parse(reply.body).at("items").as_array().size(), 3u);
  }
  EXPECT_EQ(read_waits(), 0);
}

TEST_F(slow_read_test, a_shutdown_answers_waiting_reads_503_at_once) {
  start(60s);
  auto readers = start_readers(unreachable_reads(8));
  ASSERT_TRUE(until_waiting(8)) << "billow_read_waits: " << read_waits();
  conn_.reset();
  auto t0 = steady::now();
  app_->shutdown();
  for (auto& r : readers) {
    ASSERT_EQ(r.answer.wait_for(20s), std::future_status::ready) << r.target;
    auto [reply, took] = r.answer.get();
    EXPECT_EQ(reply.status, 503u) << r.target << ": " << reply.body;
    EXPECT_EQ(reply.header("content-type"), "application/problem+json");
  }
  app_->wait();
  // Well within the drain's grace period (30 s) and the read wait (60 s).
  EXPECT_LT(steady::now() - t0, 20s);
}

TEST_F(slow_read_test, a_login_flood_beyond_an_address_share_gets_429) {
  start(1s, [](billow::api::application_options& opts) {
    opts.password_threads = 1;
    opts.password_queue = 8;
    opts.password_queue_per_address = 2;
  });
  std::vector<std::future<http_reply>> flood;
  flood.reserve(12);
  for (int i = 0; i < 12; ++i)
    flood.push_back(std::async(std::launch::async, [this] {
      http_connection conn{app_->port(), 60s};
      return conn.request(
        "POST", "/api/v1/auth/admin/token",
        R"({"email":"owner@example.com","password":"wrong-password"})");
    }));
  int refused = 0;
  for (auto& f : flood) {
    auto reply = f.get();
    if (reply.status == 401u)
      continue;
    ++refused;
    EXPECT_EQ(reply.status, 429u) << reply.body;
    EXPECT_GE(std::stoi(reply.header("retry-after")), 1) << reply.body;
    EXPECT_EQ(json::parse(reply.body).at("type").as_string(),
              "/problems/overloaded");
  }
  // At most two of twelve can be in the queue at once; the twelve arrive
  // within far less than the ten checks the others would need.
  EXPECT_GT(refused, 0);
  EXPECT_EQ(login().status, 200u); // the flood has passed
}

} // namespace
