// bench_login: logins while reads wait (issue 25; see bench/report.hpp for
// the line format).
//
//   api_login_p99_under_waits  p99 of sequential admin logins (Argon2id,
//                              POST /api/v1/auth/admin/token on one
//                              keep-alive connection) while 64 readers, each
//                              on its own connection, wait on
//                              GET /api/v1/admin/services?min_position= a
//                              position the log will not reach; baseline:
//                              the same logins on the same server with no
//                              reader, measured just before. Goal: at most
//                              twice the idle p99 (a ratio of 0.5 or more,
//                              since the ratio of a latency is idle/loaded).
//
// Billow runs in this process (api::application with serve's defaults, a
// temporary data directory, a free loopback port), with a read wait longer
// than the run, so every reader waits throughout; `readers_waiting` in the
// line is billow_read_waits at the end of the loaded logins. The filter
// `api_login_under_wait` (`make bench BENCH=api_login_under_wait`) selects
// it too.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "api/data_dir.hpp"
#include "bench/report.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr int readers = 64;
constexpr int logins = 60;
constexpr auto read_wait = 120s;

using steady = std::chrono::steady_clock;

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank
    = static_cast<size_t>(std::lround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(rank, v.size() - 1)];
}

class login_bench {
public:
  login_bench() {
    auto data = dir_.path() / "data";
    {
      auto store = billow::api::open_data_dir(data);
      if (!store
          || !billow::api::create_admin(**store, "bench@example.com",
                                        "bench-password-1", "owner"))
        throw std::runtime_error("cannot create the admin");
    }
    billow::api::application_options opts;
    opts.http.port = 0;
    opts.data_dir = data;
    opts.read_wait = read_wait;
    app_ = std::make_unique<billow::api::application>(opts);
    if (app_->start())
      throw std::runtime_error("billow did not start");
    conn_ = std::make_unique<billow::test::http_connection>(app_->port(), 60s);
    auto first = login_once();
    token_ = "Bearer "
      + std::string{json::parse(first.body).at("token").as_string()};
  }

  ~login_bench() {
    conn_.reset();
    app_->shutdown(); // the readers get 503 at once
    app_->wait();
    for (auto& r : readers_)
      r.wait();
    app_.reset();
  }

  login_bench(const login_bench&) = delete;
  login_bench& operator=(const login_bench&) = delete;

  /// Latencies of `logins` logins, in ms.
  std::vector<double> logins_ms() {
    std::vector<double> out;
    for (int i = 0; i < logins; ++i) {
      auto t0 = steady::now();
      auto reply = login_once();
      out.push_back(
        std::chrono::duration<double, std::milli>(steady::now() - t0).count());
      if (reply.status != 200)
        ++failed_;
    }
    return out;
  }

  /// Starts the readers and returns once all of them wait.
  void start_readers() {
    auto target = "/api/v1/admin/services?min_position="
      + std::to_string(999'999'999'999ULL);
    for (int i = 0; i < readers; ++i)
      readers_.push_back(std::async(std::launch::async, [this, target] {
        try {
          billow::test::http_connection c{app_->port(), read_wait * 2};
          c.request("GET", target, {}, {{"Authorization", token_}});
        } catch (const std::exception&) {
          // the connection closed after the 503 of the shutdown
        }
      }));
    for (int i = 0; i < 3000 && waiting() < readers; ++i)
      std::this_thread::sleep_for(10ms);
    if (waiting() < readers)
      throw std::runtime_error("only " + std::to_string(waiting())
                               + " readers wait");
  }

  /// `billow_read_waits` from /metrics.
  int waiting() {
    auto text = conn_->request("GET", "/metrics").body;
    std::smatch m;
    if (!std::regex_search(text, m, std::regex{"\nbillow_read_waits (\\d+)"}))
      return -1;
    return std::stoi(m[1]);
  }

  int failed() const {
    return failed_;
  }

private:
  billow::test::http_reply login_once() {
    return conn_->request(
      "POST", "/api/v1/auth/admin/token",
      R"({"email":"bench@example.com","password":"bench-password-1"})");
  }

  billow::test::temp_dir dir_{"bench-login"};
  std::unique_ptr<billow::api::application> app_;
  std::unique_ptr<billow::test::http_connection> conn_;
  std::string token_;
  std::vector<std::future<void>> readers_;
  int failed_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  auto filter = billow::bench::filter_from_args(argc, argv);
  if (!billow::bench::selected("api_login_p99_under_waits", filter)
      && !billow::bench::selected("api_login_under_waits", filter))
    return 0;
  spdlog::set_level(spdlog::level::warn);
  try {
    login_bench b;
    b.logins_ms(); // warm-up: the dummy hash, first allocations
    auto idle = b.logins_ms();
    b.start_readers();
    auto loaded = b.logins_ms();
    auto still = b.waiting();
    auto p99 = percentile(loaded, 0.99);
    auto idle_p99 = percentile(idle, 0.99);
    billow::bench::print({"api_login_p99_under_waits",
                          p99,
                          "ms",
                          "api_login_p99_idle",
                          idle_p99,
                          {{"p50_ms", percentile(loaded, 0.5)},
                           {"baseline_p50_ms", percentile(idle, 0.5)},
                           {"slowdown", idle_p99 > 0 ? p99 / idle_p99 : 0},
                           {"readers", readers},
                           {"readers_waiting", still},
                           {"logins", logins},
                           {"failed_logins", b.failed()}}});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_login: %s\n", e.what());
    return 1;
  }
  return 0;
}
