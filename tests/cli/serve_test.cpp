// `billow serve` as an operator runs it: the real binary in a child process,
// configured through the environment, stopped with SIGTERM.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/cli/run_billow.hpp"
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

using billow::test::run_billow;

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

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

} // namespace

// The operator tools through a running server print what they print on the
// stopped data directory, so scripts work against either.
TEST(cli_tools_test, tools_work_through_a_running_server_as_on_its_data_dir) {
  billow::test::temp_dir dir;
  auto data = (dir.path() / "data").string();
  auto [created, out0] = run_billow("admin create --email ops@example.com "
                                    "--password long-enough --data "
                                    + data);
  ASSERT_EQ(created, 0) << out0;
  serve_process proc{{"serve", "--listen", "127.0.0.1:0", "--data", data}, {}};
  auto m = proc.wait_for_log(
    std::regex{R"(listening on http://127\.0\.0\.1:(\d+))"});
  ASSERT_FALSE(m.empty()) << proc.log();
  auto port = static_cast<uint16_t>(std::stoi(m[1]));
  auto server = "--server http://127.0.0.1:" + std::to_string(port);

  auto [refused, out1] = run_billow("login " + server
                                    + " --email ops@example.com --password "
                                      "wrong-password");
  EXPECT_EQ(refused, 3) << out1;
  EXPECT_NE(out1.find("401"), std::string::npos) << out1;
  auto [logged_in, token_line] = run_billow("login " + server
                                              + " --email ops@example.com "
                                                "--password-stdin",
                                            "long-enough", false);
  ASSERT_EQ(logged_in, 0);
  auto token = lines_of(token_line).at(0);
  auto remote = server + " --token " + token;
  auto [no_token, out2] = run_billow("verify " + server);
  EXPECT_EQ(no_token, 2) << out2;
  auto [bad_token, out3] = run_billow("verify " + server + " --token nope");
  EXPECT_EQ(bad_token, 1) << out3;
  EXPECT_NE(out3.find("401"), std::string::npos) << out3;

  // Some events beyond the admin and the modules: two clients.
  billow::test::http_connection http{port};
  std::vector<std::pair<std::string, std::string>> auth{
    {"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  for (auto name : {"Ada", "Grace"}) {
    auto reply = http.request("POST", "/api/v1/admin/clients",
                              std::string{R"({"name":")"} + name
                                + R"(","email":"c@example.com",)"
                                  R"("currency":"EUR"})",
                              auth);
    ASSERT_EQ(reply.status, 201u) << reply.body;
  }
  auto [q_rc, q_remote] = run_billow("events query " + remote, {}, false);
  ASSERT_EQ(q_rc, 0);
  auto remote_lines = lines_of(q_remote);
  ASSERT_GE(remote_lines.size(), 3u);
  auto [c_rc, c_remote] = run_billow(
    "events query --type client.created --limit 1 " + remote, {}, false);
  ASSERT_EQ(c_rc, 0);
  ASSERT_EQ(lines_of(c_remote).size(), 1u) << c_remote;
  auto client_ev = boost::json::parse(c_remote).as_object();
  EXPECT_EQ(client_ev.at("payload").at("name").as_string(), "Ada");
  auto client_stream = std::string{client_ev.at("stream").as_string()};
  auto [t_rc, t_remote] = run_billow("events tail -n 2 " + remote, {}, false);
  ASSERT_EQ(t_rc, 0);
  auto [s_rc, s_remote] = run_billow("events show 1 " + remote, {}, false);
  ASSERT_EQ(s_rc, 0);
  auto [st_rc, st_remote] = run_billow(
    "state " + client_stream + " --at "
      + std::to_string(client_ev.at("position").as_int64()) + " " + remote,
    {}, false);
  ASSERT_EQ(st_rc, 0);
  EXPECT_EQ(boost::json::parse(st_remote).at("state").at("name").as_string(),
            "Ada");
  auto [v_rc, v_remote] = run_billow("verify " + remote, {}, false);
  ASSERT_EQ(v_rc, 0) << v_remote;
  auto [gone_rc, gone] = run_billow("events show 100000 " + remote);
  EXPECT_EQ(gone_rc, 1) << gone;

  // tail --follow: `-n 1` prints one line from the log, so a second line
  // can only come from the live stream. Clients are written until the
  // follower has its two lines (its next write then ends it at `head`).
  std::atomic<bool> follower_done{false};
  std::string followed;
  std::thread follower{[&] {
    followed
      = run_billow("events tail -n 1 --follow " + remote + " | head -n 2", {},
                   false)
          .second;
    follower_done = true;
  }};
  for (int i = 0; i < 100 && !follower_done; ++i) {
    auto reply = http.request("POST", "/api/v1/admin/clients",
                              R"({"name":"Live","email":"l@example.com",)"
                              R"("currency":"EUR"})",
                              auth);
    ASSERT_EQ(reply.status, 201u);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!follower_done) // never left hanging: the test fails below instead
    std::system(("pkill -f -- 'tail -n 1 --follow " + server + "'").c_str());
  follower.join();
  auto followed_lines = lines_of(followed);
  ASSERT_EQ(followed_lines.size(), 2u) << followed;
  auto first = boost::json::parse(followed_lines[0]);
  auto second = boost::json::parse(followed_lines[1]);
  EXPECT_GT(second.at("position").as_int64(), first.at("position").as_int64());
  EXPECT_EQ(second.at("type"), "client.created");
  EXPECT_EQ(second.at("payload").at("name"), "Live");

  int status = proc.stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << proc.log();
  auto local = " --data " + data;
  auto [lq_rc, q_local] = run_billow("events query" + local, {}, false);
  ASSERT_EQ(lq_rc, 0);
  auto local_lines = lines_of(q_local);
  ASSERT_GE(local_lines.size(), remote_lines.size());
  for (size_t i = 0; i < remote_lines.size(); ++i)
    EXPECT_EQ(local_lines[i], remote_lines[i]) << "line " << i;
  EXPECT_EQ(run_billow("events show 1" + local, {}, false).second, s_remote);
  EXPECT_EQ(run_billow("state " + client_stream + " --at "
                         + std::to_string(client_ev.at("position").as_int64())
                         + local,
                       {}, false)
              .second,
            st_remote);
  auto local_verify
    = boost::json::parse(run_billow("verify" + local, {}, false).second);
  EXPECT_EQ(local_verify.at("ok"), true);
  auto [tl_rc, t_local] = run_billow("events tail -n 2 --follow" + local);
  EXPECT_EQ(tl_rc, 2) << t_local;
  EXPECT_NE(t_local.find("--server"), std::string::npos) << t_local;
  // The remote tail was the log's last two events then.
  auto tail_lines = lines_of(t_remote);
  ASSERT_EQ(tail_lines.size(), 2u);
  EXPECT_EQ(tail_lines[1], remote_lines.back());
}
