// `billow serve` as an operator runs it: the real binary in a child process,
// configured through the environment, stopped with SIGTERM.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/cli/serve_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using billow::test::serve_process;

TEST(serve_test,
     serves_healthz_from_env_settings_and_stops_cleanly_on_sigterm) {
  billow::test::temp_dir dir;
  auto data = (dir.path() / "data").string();
  serve_process proc{{"serve"},
                     {"BILLOW_LISTEN=127.0.0.1:0", "BILLOW_DATA=" + data}};
  auto m = proc.wait_for_log(
    std::regex{R"(listening on http://127\.0\.0\.1:(\d+))"});
  ASSERT_FALSE(m.empty()) << proc.log();
  auto port = static_cast<uint16_t>(std::stoi(m[1]));
  auto reply = billow::test::http_get(port, "/healthz");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_TRUE(std::filesystem::is_directory(data));
  int status = proc.stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << proc.log();
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(serve_test, json_log_format_writes_one_json_object_per_line) {
  billow::test::temp_dir dir;
  serve_process proc{{"serve", "--log-format=json", "--listen", "127.0.0.1:0",
                      "--data", (dir.path() / "d").string()},
                     {}};
  auto m = proc.wait_for_log(
    std::regex{R"(listening on http://127\.0\.0\.1:(\d+).*\n)"});
  ASSERT_FALSE(m.empty()) << proc.log();
  proc.stop(SIGTERM);
  // Every line is one JSON object; one of them says where it listens.
  std::istringstream lines{proc.log()};
  bool found_listening = false;
  for (std::string line; std::getline(lines, line);) {
    auto doc = boost::json::parse(line).as_object();
    EXPECT_TRUE(doc.contains("time"));
    EXPECT_TRUE(doc.contains("level"));
    if (std::string{doc.at("msg").as_string()}.find("listening on")
        != std::string::npos) {
      found_listening = true;
      EXPECT_EQ(doc.at("level").as_string(), "info");
    }
  }
  EXPECT_TRUE(found_listening) << proc.log();
}

TEST(serve_test, bad_setting_exits_with_status_2_and_a_message) {
  serve_process proc{{"serve", "--listen", "nonsense"}, {}};
  auto m = proc.wait_for_log(std::regex{"listen address must be host:port"});
  EXPECT_FALSE(m.empty()) << proc.log();
  int status = proc.stop(0); // exits by itself
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

TEST(serve_test, port_in_use_fails_with_a_clear_error) {
  billow::test::temp_dir dir;
  serve_process first{{"serve", "--listen", "127.0.0.1:0", "--data",
                       (dir.path() / "a").string()},
                      {}};
  auto m = first.wait_for_log(
    std::regex{R"(listening on http://127\.0\.0\.1:(\d+))"});
  ASSERT_FALSE(m.empty());
  serve_process second{{"serve", "--listen", "127.0.0.1:" + m[1].str(),
                        "--data", (dir.path() / "b").string()},
                       {}};
  EXPECT_FALSE(second.wait_for_log(std::regex{"cannot listen on"}).empty())
    << second.log();
  int status = second.stop(0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  first.stop(SIGTERM);
}

namespace {

/// Runs `billow ARGS` to completion; answers its exit status and output
/// (stdout and stderr together).
std::pair<int, std::string> run_billow(const std::string& args,
                                       const std::string& stdin_text = {}) {
  auto cmd = std::string{BILLOW_BINARY} + " " + args + " 2>&1";
  if (!stdin_text.empty())
    cmd = "printf '%s\\n' '" + stdin_text + "' | " + cmd;
  std::string out;
  auto* pipe = ::popen(cmd.c_str(), "r");
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof(buf), pipe))
    out.append(buf, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

} // namespace

TEST(cli_tools_test, admin_create_then_verify_and_query_the_log) {
  billow::test::temp_dir dir;
  auto data = "--data " + (dir.path() / "data").string();
  auto [created, out1] = run_billow("admin create --email ops@example.com "
                                    "--password-stdin "
                                      + data,
                                    "a-long-password");
  ASSERT_EQ(created, 0) << out1;
  EXPECT_NE(out1.find("created admin"), std::string::npos);
  auto [dup, out2]
    = run_billow("admin create --email OPS@example.com --password "
                 "another-password "
                 + data);
  EXPECT_EQ(dup, 2) << out2;
  EXPECT_NE(out2.find("exists already"), std::string::npos);
  auto [short_pw, out3]
    = run_billow("admin create --email x@example.com --password "
                 "short "
                 + data);
  EXPECT_EQ(short_pw, 2) << out3;
  auto [verified, out4] = run_billow("verify " + data);
  EXPECT_EQ(verified, 0) << out4;
  auto report = boost::json::parse(out4).as_object();
  EXPECT_TRUE(report.at("ok").as_bool());
  EXPECT_EQ(report.at("checked").as_int64(), 1);
  auto [queried, out5]
    = run_billow("events query --type admin.created " + data);
  ASSERT_EQ(queried, 0) << out5;
  auto ev = boost::json::parse(out5).as_object();
  EXPECT_EQ(ev.at("type").as_string(), "admin.created");
  EXPECT_EQ(ev.at("payload").at("email").as_string(), "ops@example.com");
  auto [missing, out6] = run_billow("events show 2 " + data);
  EXPECT_EQ(missing, 1) << out6;
  auto stream = std::string{ev.at("stream").as_string()};
  auto [stated, out7] = run_billow("state " + stream + " --at 1 " + data);
  ASSERT_EQ(stated, 0) << out7;
  auto state = boost::json::parse(out7).as_object();
  EXPECT_EQ(state.at("state").at("email").as_string(), "ops@example.com");
  auto [too_early, out8]
    = run_billow("state " + stream + " --at 1999-01-01T00:00:00Z " + data);
  EXPECT_EQ(too_early, 1) << out8;
}

TEST(cli_tools_test, tools_refuse_a_data_dir_a_running_server_holds) {
  billow::test::temp_dir dir;
  auto data = (dir.path() / "data").string();
  serve_process proc{{"serve", "--listen", "127.0.0.1:0", "--data", data}, {}};
  ASSERT_FALSE(proc.wait_for_log(std::regex{"listening on"}).empty())
    << proc.log();
  auto [status, out]
    = run_billow("admin create --email a@example.com --password "
                 "long-enough --data "
                 + data);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("stop it first"), std::string::npos) << out;
  proc.stop(SIGTERM);
}
