// `billow replay` and the restart test of issue 6, through the real binary:
// commands over HTTP, SIGKILL mid-way, a restart, every acknowledged command
// still there, and each projection equal to a full rebuild.

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/cli/serve_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using billow::test::http_connection;
using billow::test::serve_process;
namespace json = boost::json;

namespace {

/// What a finished `billow` command printed and its exit code.
struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

/// Runs `billow args...` (stdout and stderr apart; stdin empty).
run_result run_billow(const std::vector<std::string>& args,
                      const billow::test::temp_dir& dir) {
  std::string cmd = "'" BILLOW_BINARY "'";
  for (const auto& a : args)
    cmd += fmt::format(" '{}'", a);
  auto err_path = dir.sub("stderr.txt");
  cmd += fmt::format(" 2>'{}' </dev/null", err_path);
  run_result r;
  if (auto* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0)
      r.out.append(buf, n);
    auto status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  if (auto* f = std::fopen(err_path.c_str(), "r")) {
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
      r.err.append(buf, n);
    std::fclose(f);
  }
  return r;
}

class replay_test : public ::testing::Test {
protected:
  void SetUp() override {
    data_ = dir_.sub("data");
    auto made = run_billow({"admin", "create", "--email", "ops@example.com",
                            "--password", "ops-password", "--data", data_},
                           dir_);
    ASSERT_EQ(made.code, 0) << made.err;
  }

  void start() {
    proc_ = std::make_unique<serve_process>(
      std::vector<std::string>{"serve", "--listen", "127.0.0.1:0", "--data",
                               data_},
      std::vector<std::string>{});
    auto m = proc_->wait_for_log(
      std::regex{R"(listening on http://127\.0\.0\.1:(\d+))"});
    ASSERT_FALSE(m.empty()) << proc_->log();
    port_ = static_cast<uint16_t>(std::stoi(m[1]));
    http_connection conn{port_};
    auto reply = conn.request(
      "POST", "/api/v1/auth/admin/token",
      R"({"email":"ops@example.com","password":"ops-password"})");
    ASSERT_EQ(reply.status, 200u) << reply.body;
    token_ = std::string{json::parse(reply.body).at("token").as_string()};
    bearer_ = fmt::format("Bearer {}", token_);
  }

  int stop(int signo) {
    auto status = proc_->stop(signo);
    proc_.reset();
    return status;
  }

  std::vector<std::pair<std::string, std::string>> auth() const {
    return {{"Authorization", bearer_}};
  }

  /// Every page of a list, concatenated (one JSON array text).
  std::string fetch_all(const std::string& path) {
    http_connection conn{port_};
    json::array all;
    std::string cursor;
    for (int guard = 0; guard < 1000; ++guard) {
      auto reply
        = conn.request("GET",
                       fmt::format("{}?limit=7{}{}", path,
                                   cursor.empty() ? "" : "&cursor=", cursor),
                       {}, auth());
      EXPECT_EQ(reply.status, 200u) << reply.body;
      if (reply.status != 200)
        break;
      auto doc = json::parse(reply.body).as_object();
      for (auto& item : doc.at("items").as_array())
        all.push_back(item);
      if (doc.at("next_cursor").is_null())
        break;
      cursor = std::string{doc.at("next_cursor").as_string()};
    }
    return json::serialize(all);
  }

  std::map<std::string, std::string> snapshot() {
    std::map<std::string, std::string> out;
    for (auto path : {"/api/v1/admin/services", "/api/v1/admin/clients",
                      "/api/v1/admin/products", "/api/v1/admin/jobs"})
      out[path] = fetch_all(path);
    return out;
  }

  billow::test::temp_dir dir_{"replay"};
  std::string data_;
  std::unique_ptr<serve_process> proc_;
  uint16_t port_ = 0;
  std::string token_;
  std::string bearer_;
};

} // namespace

TEST_F(replay_test, refuses_unknown_names_and_a_running_server_s_data) {
  auto unknown = run_billow({"replay", "ledger", "--data", data_}, dir_);
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("no projection named 'ledger'"), std::string::npos)
    << unknown.err;
  EXPECT_NE(unknown.err.find("provisioning, jobs, billing"), std::string::npos);
  start();
  auto locked = run_billow({"replay", "provisioning", "--data", data_}, dir_);
  EXPECT_EQ(locked.code, 1);
  EXPECT_NE(locked.err.find("is billow serve running on it?"),
            std::string::npos)
    << locked.err;
  stop(SIGTERM);
  auto ok = run_billow({"replay", "jobs", "--data", data_}, dir_);
  EXPECT_EQ(ok.code, 0) << ok.err;
  // Not a terminal: progress as lines, then the count and rate.
  EXPECT_NE(ok.err.find("jobs: "), std::string::npos) << ok.err;
  EXPECT_EQ(ok.err.find('\r'), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
    ok.out, m,
    std::regex{R"(replayed jobs: (\d+) events in [0-9.]+ s \(\d+ events/s\))"}))
    << ok.out;
  EXPECT_GE(std::stoull(m[1]), 1u); // the admin's event
}

TEST_F(replay_test, a_killed_server_keeps_every_acknowledged_command) {
  start();
  // Acknowledged commands and what each one promised.
  struct acked {
    std::string kind; // client, product, service, suspend, unsuspend
    std::string id;
    uint64_t version = 0;
  };
  std::mutex mtx;
  std::vector<acked> done;
  std::atomic<bool> stop_flag{false};
  std::thread load{[&] {
    try {
      http_connection conn{port_, std::chrono::seconds(5)};
      auto post = [&](const std::string& path, const json::object& body) {
        return conn.request("POST", path, json::serialize(body), auth());
      };
      auto record = [&](const std::string& kind,
                        const billow::test::http_reply& r) {
        if (r.status >= 300)
          return json::object{};
        auto doc = json::parse(r.body).as_object();
        std::lock_guard guard{mtx};
        done.push_back({kind, std::string{doc.at("id").as_string()},
                        static_cast<uint64_t>(doc.at("version").as_int64())});
        return doc;
      };
      for (int i = 0; !stop_flag; ++i) {
        auto c = record("client",
                        post("/api/v1/admin/clients",
                             {{"name", fmt::format("c{}", i)},
                              {"email", "c@x.test"},
                              {"currency", "EUR"}}));
        auto p = record("product",
                        post("/api/v1/admin/products",
                             {{"name", fmt::format("p{}", i)},
                              {"prices",
                               json::array{{{"currency", "EUR"},
                                            {"period", "monthly"},
                                            {"amount", "1.00"}}}}}));
        if (c.empty() || p.empty())
          continue;
        auto s = record("service",
                        post("/api/v1/admin/services",
                             {{"client_id", c.at("id")},
                              {"product_id", p.at("id")},
                              {"provision", "now"}}));
        if (s.empty())
          continue;
        auto sid = std::string{s.at("id").as_string()};
        for (int k = 0; k < 3 && !stop_flag; ++k) {
          record("suspend",
                 post(fmt::format("/api/v1/admin/services/{}/suspend", sid),
                      {}));
          record("unsuspend",
                 post(fmt::format("/api/v1/admin/services/{}/unsuspend", sid),
                      {}));
        }
      }
    } catch (const std::exception&) {
      // The server died under us: that is the point.
    }
  }};
  for (int i = 0; i < 600; ++i) {
    {
      std::lock_guard guard{mtx};
      if (done.size() >= 60)
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int status = stop(SIGKILL); // mid-way: the load thread is still sending
  stop_flag = true;
  load.join();
  ASSERT_TRUE(WIFSIGNALED(status));
  std::vector<acked> acks;
  {
    std::lock_guard guard{mtx};
    acks = done;
  }
  ASSERT_GE(acks.size(), 60u);

  start();
  auto lists = snapshot();
  http_connection conn{port_};
  for (const auto& a : acks) {
    auto stream = (a.kind == "suspend" || a.kind == "unsuspend")
      ? fmt::format("service-{}", a.id)
      : fmt::format("{}-{}", a.kind, a.id);
    // Its events are in the log, up to the version it answered.
    auto events = conn.request(
      "GET", fmt::format("/api/v1/admin/events?stream={}&limit=1000", stream),
      {}, auth());
    ASSERT_EQ(events.status, 200u);
    auto items = json::parse(events.body).at("items").as_array();
    ASSERT_GE(items.size(), a.version) << a.kind << " " << a.id;
    // And the lists show it.
    auto list = a.kind == "client" ? lists["/api/v1/admin/clients"]
      : a.kind == "product"        ? lists["/api/v1/admin/products"]
                                   : lists["/api/v1/admin/services"];
    EXPECT_NE(list.find(a.id), std::string::npos) << a.kind << " " << a.id;
    if (a.kind != "client" && a.kind != "product") {
      auto one = conn.request(
        "GET", fmt::format("/api/v1/admin/services/{}", a.id), {}, auth());
      ASSERT_EQ(one.status, 200u);
      EXPECT_GE(json::parse(one.body).at("version").as_int64(),
                static_cast<int64_t>(a.version));
    }
  }
  // Each projection agrees with a full rebuild.
  ASSERT_EQ(stop(SIGTERM), 0);
  for (auto name : {"provisioning", "jobs"}) {
    auto r = run_billow({"replay", name, "--data", data_}, dir_);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  start();
  auto rebuilt = snapshot();
  for (const auto& [path, text] : lists)
    EXPECT_EQ(rebuilt[path], text) << path;
  EXPECT_NE(lists["/api/v1/admin/services"], "[]");
}
