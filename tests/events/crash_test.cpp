// Kills a process that appends through the writer actor at random moments
// and checks, after every restart, that the log kept its promises.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using namespace billow::events;

namespace {

struct ack {
  unsigned n = 0;
  uint64_t first = 0;
  uint64_t last = 0;
};

/// Runs the child against `dir` until it acknowledged something and a random
/// extra time passed, SIGKILLs it, and returns every acknowledged append
/// it printed.
std::vector<std::pair<std::string, ack>> run_and_kill(const std::string& dir,
                                                      std::mt19937& rng) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  auto pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(BILLOW_CRASH_CHILD, BILLOW_CRASH_CHILD, dir.c_str(), "16",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  auto read_some = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0)
      return true;
    char buf[8192];
    auto n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0)
      return false;
    out.append(buf, static_cast<size_t>(n));
    return true;
  };
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::seconds(10);
  while (out.find('\n') == std::string::npos && clock::now() < deadline)
    if (!read_some(50))
      break;
  std::uniform_int_distribution<int> extra_ms{0, 60};
  auto kill_at = clock::now() + std::chrono::milliseconds(extra_ms(rng));
  while (clock::now() < kill_at)
    if (!read_some(5))
      break;
  ::kill(pid, SIGKILL);
  while (read_some(1000)) {
    pollfd p{fds[0], POLLIN | POLLHUP, 0};
    if (::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN))
      break;
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "child exited by itself: " << status;
  std::vector<std::pair<std::string, ack>> acks;
  std::istringstream in{out};
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof())
      break; // the last line had no newline: not a complete ack
    char cmd[64];
    unsigned n;
    unsigned long long first, last;
    if (std::sscanf(line.c_str(), "ack %63s %u %llu %llu", cmd, &n, &first,
                    &last)
        == 4)
      acks.emplace_back(cmd, ack{n, first, last});
  }
  return acks;
}

} // namespace

TEST(crash_test, acknowledged_appends_survive_sigkill_whole_and_once) {
  test::temp_dir dir{"crash"};
  auto db = dir.sub("db");
  std::mt19937 rng{std::random_device{}()};
  std::map<std::string, ack> acked;
  constexpr int rounds = 20;
  for (int round = 0; round < rounds; ++round) {
    auto acks = run_and_kill(db, rng);
    EXPECT_FALSE(acks.empty()) << "round " << round;
    for (auto& [cmd, a] : acks)
      EXPECT_TRUE(acked.emplace(cmd, a).second) << "ack printed twice";
    auto store = event_store::open({db, nullptr, {}, nullptr, {}});
    ASSERT_TRUE(store) << to_string(store.error());
    auto& s = **store;
    // The chain verifies end to end, which also proves positions gapless.
    auto report = s.verify(1, UINT64_MAX);
    ASSERT_TRUE(report);
    ASSERT_TRUE(report->ok()) << "round " << round << ": position "
                              << *report->first_bad << " " << report->problem;
    ASSERT_EQ(report->checked, s.last_position());
    // Group every stored event by command.
    struct seen {
      unsigned n = 0;
      std::vector<std::pair<uint64_t, unsigned>> events; // position, index
    };
    std::map<std::string, seen> commands;
    std::set<uuid> ids;
    auto err = s.for_each(1, UINT64_MAX, [&](const envelope& x) {
      char cmd[64];
      unsigned n, i;
      EXPECT_EQ(std::sscanf(x.payload.c_str(),
                            "{\"cmd\":\"%36[^\"]\",\"n\":%u,\"i\":%u}", cmd, &n,
                            &i),
                3);
      auto& c = commands[cmd];
      c.n = n;
      c.events.emplace_back(x.position, i);
      EXPECT_TRUE(ids.insert(x.event_id).second) << "event id stored twice";
      return true;
    });
    ASSERT_FALSE(err);
    // No command is half-written: each has all its events, consecutive.
    for (auto& [cmd, c] : commands) {
      ASSERT_EQ(c.events.size(), c.n) << "command " << cmd << " half-written";
      for (unsigned i = 0; i < c.n; ++i) {
        EXPECT_EQ(c.events[i].second, i);
        EXPECT_EQ(c.events[i].first, c.events[0].first + i);
      }
    }
    // Every acknowledged append is present exactly once, where it was acked.
    for (auto& [cmd, a] : acked) {
      auto i = commands.find(cmd);
      ASSERT_NE(i, commands.end()) << "acknowledged append " << cmd << " lost";
      EXPECT_EQ(i->second.events.front().first, a.first);
      EXPECT_EQ(i->second.events.back().first, a.last);
    }
  }
  EXPECT_GT(acked.size(), static_cast<size_t>(rounds));
}
