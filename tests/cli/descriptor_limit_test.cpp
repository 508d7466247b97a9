// `billow serve` under a low descriptor limit (`ulimit -n 64`) with more
// connections than it can take: the listener pauses instead of spinning on
// EMFILE, logs it a few times at most, counts it, and serves again once the
// connections are gone.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/cli/serve_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using billow::test::serve_process;

namespace {

void limit_descriptors_to_64() {
  rlimit lim{64, 64};
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

/// CPU time (user + system) the process `pid` has used so far.
std::chrono::milliseconds cpu_time(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  // Fields after the command name, from field 3 (state) on: utime and
  // stime are fields 14 and 15.
  std::istringstream fields{stat.substr(stat.rfind(')') + 2)};
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i >= 14)
      ticks += std::stol(field);
  return std::chrono::milliseconds{ticks * 1000 / ::sysconf(_SC_CLK_TCK)};
}

/// Whether `/healthz` answers 200 within `within` (retrying: while the
/// listener pauses, a new connection waits in the backlog).
bool healthy_within(uint16_t port, std::chrono::milliseconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (billow::test::http_get(port, "/healthz").status == 200)
        return true;
    } catch (const std::exception&) {
      // the connection was cut or timed out: try again
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

std::size_t count_lines_with(const std::string& text, const std::string& what) {
  std::istringstream lines{text};
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.find(what) != std::string::npos)
      ++n;
  return n;
}

} // namespace

TEST(descriptor_limit_test, out_of_descriptors_pauses_accept_without_spinning) {
  billow::test::temp_dir dir;
  serve_process proc{{"serve", "--listen", "127.0.0.1:0", "--data",
                      (dir.path() / "data").string()},
                     {},
                     limit_descriptors_to_64};
  auto m = proc.wait_for_log(
    std::regex{R"(listening on http://127\.0\.0\.1:(\d+))"});
  ASSERT_FALSE(m.empty()) << proc.log();
  auto port = static_cast<uint16_t>(std::stoi(m[1]));
  ASSERT_TRUE(healthy_within(port, 5s)) << proc.log();

  // Three times as many connections as the server has descriptors: they all
  // connect (the kernel's backlog holds those not yet accepted).
  std::vector<std::unique_ptr<billow::test::raw_connection>> flood;
  for (int i = 0; i < 200; ++i)
    flood.push_back(std::make_unique<billow::test::raw_connection>(port));
  auto cpu_before = cpu_time(proc.pid());
  // Keep reading the log meanwhile: a server that logs each failure would
  // otherwise block on the full pipe and look idle.
  auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until)
    proc.read_log(50);
  auto cpu_used = cpu_time(proc.pid()) - cpu_before;
  std::printf("server CPU over 3 s with 200 connections against 64 "
              "descriptors: %lld ms\n",
              static_cast<long long>(cpu_used.count()));
  EXPECT_LT(cpu_used, 1s) << "the server spun while out of descriptors";

  flood.clear();
  EXPECT_TRUE(healthy_within(port, 10s)) << proc.log();
  auto metrics = billow::test::http_get(port, "/metrics").body;
  std::smatch count;
  ASSERT_TRUE(std::regex_search(
    metrics, count,
    std::regex{
      R"(billow_http_accept_failures_total\{reason="emfile"\} (\d+))"}))
    << metrics;
  EXPECT_GT(std::stoul(count[1]), 0u) << metrics;

  proc.read_log();
  auto accept_lines = count_lines_with(proc.log(), "accept");
  EXPECT_GE(accept_lines, 1u) << proc.log();
  EXPECT_LE(accept_lines, 5u) << proc.log();
  EXPECT_NE(proc.log().find("emfile"), std::string::npos) << proc.log();
  int status = proc.stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << proc.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << proc.log();
}
