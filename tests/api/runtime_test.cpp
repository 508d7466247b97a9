// The actor runtime seen from a running server: its figures on /metrics
// move as services and jobs do, and a module call that never returns does
// not hold up shutdown. The test module `stall` (fixtures/stall) succeeds,
// fails or hangs in create_job as its product's `mode` says.

#include <map>
#include <sstream>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "events/event_store.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
namespace json = boost::json;
using billow::test::http_connection;
using billow::test::http_reply;

namespace {

class runtime_test : public ::testing::Test {
protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    std::filesystem::create_directories(data_);
    auto store = billow::api::open_data_dir(data_);
    ASSERT_TRUE(store);
    ASSERT_TRUE(billow::api::create_admin(**store, "owner@example.com",
                                          "owner-password", "owner"));
  }

  void start() {
    billow::api::application_options opts;
    opts.http.port = 0;
    opts.data_dir = data_;
    opts.modules_dir = BILLOW_TEST_FIXTURES_DIR;
    opts.clock = billow::actors::clock_kind::manual;
    opts.worker_threads = 2;
    opts.runtime.worker_grace = grace;
    app_ = std::make_unique<billow::api::application>(opts);
    ASSERT_FALSE(app_->start());
    conn_ = std::make_unique<http_connection>(app_->port(), 30s);
    auto r = conn_->request("POST", "/api/v1/auth/admin/token",
                            R"({"email":"owner@example.com",)"
                            R"("password":"owner-password"})");
    ASSERT_EQ(r.status, 200u) << r.body;
    token_ = "Bearer "
      + std::string{json::parse(r.body).at("token").as_string()};
  }

  /// Stops the server; answers how long that took.
  std::chrono::steady_clock::duration stop() {
    conn_.reset();
    auto t0 = std::chrono::steady_clock::now();
    app_->shutdown();
    app_->wait();
    auto took = std::chrono::steady_clock::now() - t0;
    app_.reset();
    return took;
  }

  http_reply call(const std::string& method, const std::string& target,
                  const json::object& body = {}) {
    return conn_->request(
      method, target, method == "GET" ? std::string{} : json::serialize(body),
      {{"Authorization", token_}});
  }

  /// Activates the module, makes a client and a product per mode.
  void catalogue() {
    auto a = call("POST", "/api/v1/admin/modules/Product/stall/activate");
    ASSERT_EQ(a.status, 200u) << a.body;
    auto c = call(
      "POST", "/api/v1/admin/clients",
      {{"name", "Acme"}, {"email", "ops@acme.test"}, {"currency", "EUR"}});
    ASSERT_EQ(c.status, 201u) << c.body;
    client_ = json::parse(c.body).at("id").as_string().c_str();
    for (auto mode : {"ok", "fail", "hang"}) {
      auto p = call("POST", "/api/v1/admin/products",
                    {{"name", std::string{"stall "} + mode},
                     {"module", {{"type", "Product"}, {"name", "stall"}}},
                     {"product_data", {{"mode", mode}}}});
      ASSERT_EQ(p.status, 201u) << p.body;
      products_[mode] = json::parse(p.body).at("id").as_string().c_str();
    }
  }

  /// Orders a service of the product of `mode`, provisioned now.
  std::string order(const std::string& mode) {
    auto r = call("POST", "/api/v1/admin/services",
                  {{"client_id", client_},
                   {"product_id", products_[mode]},
                   {"period", "monthly"},
                   {"provision", "now"}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return r.status == 201u
      ? std::string{json::parse(r.body).at("id").as_string()}
      : std::string{};
  }

  /// The value of the metric line `series` (`name` or `name{labels}`) on
  /// /metrics; -1 when absent.
  double metric(const std::string& series) {
    auto r = conn_->request("GET", "/metrics");
    EXPECT_EQ(r.status, 200u);
    std::istringstream in{r.body};
    for (std::string line; std::getline(in, line);)
      if (line.size() > series.size()
          && line.compare(0, series.size(), series) == 0
          && line[series.size()] == ' ')
        return std::stod(line.substr(series.size() + 1));
    return -1;
  }

  /// Polls `probe` (bounded by real time).
  bool eventually(const std::function<bool()>& probe) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (probe())
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return probe();
  }

  unsigned advance(int seconds) {
    auto r = call("POST", "/api/v1/admin/clock/advance",
                  {{"seconds", seconds}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.status;
  }

  std::string provision_status(const std::string& id) {
    auto r = call("GET", "/api/v1/admin/services/" + id);
    EXPECT_EQ(r.status, 200u) << r.body;
    return std::string{json::parse(r.body).at("provision_status").as_string()};
  }

  std::chrono::milliseconds grace = 1s;
  billow::test::temp_dir dir_{"api-runtime"};
  std::filesystem::path data_;
  std::unique_ptr<billow::api::application> app_;
  std::unique_ptr<http_connection> conn_;
  std::string token_, client_;
  std::map<std::string, std::string> products_;
};

} // namespace

TEST_F(runtime_test, metrics_show_service_actors_jobs_and_workers_changing) {
  start();
  catalogue();
  EXPECT_EQ(metric("billow_service_actors_live"), 0);
  EXPECT_EQ(metric("billow_jobs{status=\"completed\"}"), 0);
  EXPECT_EQ(metric("billow_worker_pool_workers{state=\"idle\"}"), 2);
  auto ok = order("ok");
  ASSERT_TRUE(eventually([&] {
    return provision_status(ok) == "completed";
  }));
  ASSERT_TRUE(eventually([&] {
    return metric("billow_jobs{status=\"completed\"}") == 1;
  }));
  EXPECT_EQ(metric("billow_service_actors_spawned_total"), 1);
  EXPECT_EQ(metric("billow_service_actors_live"), 1);
  EXPECT_EQ(metric("billow_job_attempts_total"), 1);
  // A remote that refuses: three tries (PUQcloud's default), 10 s apart.
  auto bad = order("fail");
  for (int attempt = 1; attempt < 3; ++attempt) {
    ASSERT_TRUE(eventually([&] {
      return metric("billow_job_attempt_failures_total{kind=\"error\"}")
        == attempt
        && metric("billow_jobs{status=\"retrying\"}") == 1;
    }));
    EXPECT_EQ(advance(10), 200u);
  }
  ASSERT_TRUE(eventually([&] {
    return provision_status(bad) == "failed";
  }));
  EXPECT_EQ(metric("billow_jobs{status=\"failed\"}"), 1);
  EXPECT_EQ(metric("billow_jobs{status=\"retrying\"}"), 0);
  EXPECT_EQ(metric("billow_job_attempt_failures_total{kind=\"error\"}"), 3);
  EXPECT_EQ(metric("billow_job_attempts_total"), 4);
  // A call that hangs keeps one worker busy and its job running.
  auto stuck = order("hang");
  ASSERT_TRUE(eventually([&] {
    return metric("billow_worker_pool_workers{state=\"busy\"}") == 1;
  }));
  EXPECT_EQ(metric("billow_worker_pool_workers{state=\"idle\"}"), 1);
  EXPECT_EQ(metric("billow_jobs{status=\"running\"}"), 1);
  EXPECT_EQ(metric("billow_service_actors_live"), 3);
  // Ten minutes later the idle services are passivated, and the hung
  // attempt (timeout 600 s) has failed, its worker replaced. The second
  // attempt, 10 s later, hangs too and its timeout fails the job
  // (max_exceptions 2). Each advance ends on a timeout: the retry the job
  // actor schedules in answer (10 s on) must not fall inside the same
  // advance, where it would fire or not depending on how soon the actor ran.
  EXPECT_EQ(advance(600), 200u);
  ASSERT_TRUE(eventually([&] {
    return metric("billow_worker_pool_replaced_total") == 1
      && metric("billow_jobs{status=\"retrying\"}") == 1;
  }));
  EXPECT_EQ(metric("billow_job_attempt_failures_total{kind=\"timeout\"}"), 1);
  EXPECT_EQ(metric("billow_worker_pool_workers{state=\"busy\"}"), 0);
  EXPECT_GE(metric("billow_service_actors_passivated_total"), 2);
  EXPECT_EQ(advance(10), 200u);
  ASSERT_TRUE(eventually([&] {
    return metric("billow_worker_pool_workers{state=\"busy\"}") == 1;
  }));
  EXPECT_EQ(advance(600), 200u);
  ASSERT_TRUE(eventually([&] {
    return metric("billow_jobs{status=\"failed\"}") == 2;
  }));
  EXPECT_EQ(metric("billow_jobs{status=\"running\"}"), 0);
  EXPECT_EQ(metric("billow_job_attempt_failures_total{kind=\"timeout\"}"), 2);
  EXPECT_EQ(metric("billow_worker_pool_replaced_total"), 2);
  EXPECT_EQ(metric("billow_worker_pool_workers{state=\"idle\"}"), 2);
  ASSERT_TRUE(eventually([&] {
    return provision_status(stuck) == "failed";
  }));
  EXPECT_LT(stop(), 10s);
}

TEST_F(runtime_test, a_module_call_that_never_returns_does_not_block_shutdown) {
  start();
  catalogue();
  auto stuck = order("hang");
  ASSERT_TRUE(eventually([&] {
    return metric("billow_worker_pool_workers{state=\"busy\"}") == 1;
  }));
  // The grace is 1 s; the drain and the rest take well under a second here.
  auto took = stop();
  EXPECT_GE(took, grace);
  EXPECT_LT(took, grace + 5s);
  // Restarted, the job that was running is attempted again (at least once):
  // it hangs again, and shutdown is bounded again.
  start();
  ASSERT_TRUE(eventually([&] {
    return metric("billow_worker_pool_workers{state=\"busy\"}") == 1;
  }));
  auto svc = call("GET", "/api/v1/admin/services/" + stuck);
  ASSERT_EQ(svc.status, 200u);
  EXPECT_EQ(json::parse(svc.body).at("provision_status"), "processing");
  auto events = call("GET", "/api/v1/admin/events?type=job.started");
  ASSERT_EQ(events.status, 200u) << events.body;
  auto page = json::parse(events.body);
  auto& items = page.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].at("payload").at("resumed"), true);
  EXPECT_LT(stop(), grace + 5s);
}
