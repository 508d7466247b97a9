// `billow serve` on a small volume that fills up: writes answer 507 with a
// problem a person can act on, reads and logins keep working, /readyz and the
// metrics say why, and once space is freed writes and the followers resume
// without a restart; nothing acknowledged is lost across a SIGKILL, and the
// hash chain verifies. The volume is a tmpfs mounted by the test (the suite
// runs as root), or a loop-mounted ext4 image where tmpfs cannot be had.

#include <signal.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/cli/admin_server.hpp"
#include "tests/cli/run_billow.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using billow::test::http_connection;
using billow::test::http_reply;
using billow::test::run_billow;
using namespace std::chrono_literals;

namespace {

// Room for the last restart too: after four fills, with four read models
// committing to their own column families, 22-28 MiB of a 64 MiB volume were
// left, and replaying the WAL into table files on the restart after the
// SIGKILL sometimes needed more (1 run in 3 failed to start: "No space left
// on device" writing an .sst). The fills leave 1 MiB free whatever the size.
constexpr const char* volume_size = "96m";

/// A small file system mounted at `dir` for the test's lifetime: tmpfs, or
/// an ext4 image on a loop device where tmpfs cannot be mounted.
class small_volume {
public:
  explicit small_volume(const std::filesystem::path& dir,
                        const std::filesystem::path& image)
    : dir_(dir) {
    std::filesystem::create_directories(dir);
    std::string size_opt = std::string{"size="} + volume_size;
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, size_opt.c_str()) == 0) {
      kind_ = "tmpfs";
      return;
    }
    tmpfs_error_ = std::strerror(errno);
    auto cmd = "truncate -s " + std::string{volume_size} + " '" + image.string()
      + "' && mkfs.ext4 -q -F '" + image.string()
      + "' >/dev/null 2>&1 && mount -o loop '" + image.string() + "' '"
      + dir.string() + "' 2>/dev/null";
    if (std::system(cmd.c_str()) == 0)
      kind_ = "ext4";
  }

  ~small_volume() {
    if (!kind_.empty())
      ::umount2(dir_.c_str(), MNT_DETACH);
  }

  small_volume(const small_volume&) = delete;
  small_volume& operator=(const small_volume&) = delete;

  bool mounted() const {
    return !kind_.empty();
  }

  /// Why neither file system could be mounted.
  std::string why_not() const {
    return "mounting a " + std::string{volume_size} + " tmpfs failed ("
      + tmpfs_error_
      + ") and so did a loop-mounted ext4 image: this test must run as "
        "root (or with CAP_SYS_ADMIN) where mount(2) works";
  }

  uint64_t free_bytes() const {
    struct statvfs vfs {};
    ::statvfs(dir_.c_str(), &vfs);
    return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  }

  /// Writes a file that leaves about `leave` bytes free on the volume.
  void fill(const std::string& name, uint64_t leave) {
    auto free = free_bytes();
    auto size = free > leave ? free - leave : 0;
    std::ofstream out{dir_ / name, std::ios::binary | std::ios::trunc};
    std::vector<char> chunk(1 << 20, 'x');
    for (uint64_t done = 0; done < size && out;) {
      auto n = std::min<uint64_t>(chunk.size(), size - done);
      out.write(chunk.data(), static_cast<std::streamsize>(n));
      done += n;
    }
  }

  void remove(const std::string& name) {
    std::filesystem::remove(dir_ / name);
  }

private:
  std::filesystem::path dir_;
  std::string kind_;
  std::string tmpfs_error_ = "not tried";
};

using server = billow::test::admin_server;

std::unique_ptr<server> start_server(const std::string& data) {
  return std::make_unique<server>(data, "ops@example.com", "long-enough");
}

/// What the writers saw: the ids of acknowledged clients and one 507 body.
struct fill_result {
  std::mutex mtx;
  std::set<std::string> acknowledged;
  size_t full = 0;
  size_t unavailable = 0;
  std::vector<std::string> unexpected;
  http_reply full_reply;
};

/// Creates clients from `threads` connections until `stop_after_full` 507s
/// were seen (or the time is up).
void create_clients(const server& srv, fill_result& out, int threads,
                    size_t stop_after_full, std::chrono::seconds within,
                    const std::string& round) {
  std::atomic<size_t> full{0};
  auto deadline = std::chrono::steady_clock::now() + within;
  std::vector<std::thread> ts;
  ts.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      try {
        http_connection http{srv.port};
        for (int i = 0; full.load() < stop_after_full
             && std::chrono::steady_clock::now() < deadline;
             ++i) {
          auto h = srv.auth;
          h.emplace_back("Idempotency-Key",
                         round + "-" + std::to_string(t) + "-"
                           + std::to_string(i));
          // A long name (200 is the most), so that the volume fills soon.
          auto reply = http.request(
            "POST", "/api/v1/admin/clients",
            R"({"name":")" + std::string(180, 'n') + std::to_string(i)
              + R"(","email":"c@example.com","currency":"EUR"})",
            h);
          std::lock_guard guard{out.mtx};
          if (reply.status == 201) {
            out.acknowledged.insert(std::string{
              boost::json::parse(reply.body).as_object().at("id").as_string()});
          } else if (reply.status == 507) {
            ++out.full;
            ++full;
            if (out.full_reply.status == 0)
              out.full_reply = reply;
          } else if (reply.status == 503) {
            ++out.unavailable;
          } else {
            out.unexpected.push_back(std::to_string(reply.status) + " "
                                     + reply.body);
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard guard{out.mtx};
        out.unexpected.push_back(std::string{"no answer: "} + e.what());
      }
    });
  for (auto& t : ts)
    t.join();
}

/// The ids in the admin client list.
std::set<std::string> listed_clients(const server& srv) {
  std::set<std::string> ids;
  for (auto& item : srv.all_items("/api/v1/admin/clients"))
    ids.insert(std::string{item.as_object().at("id").as_string()});
  return ids;
}

/// Polls `probe` every 100 ms until it holds or `within` passed.
template <class F>
bool eventually(F probe, std::chrono::milliseconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe())
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return probe();
}

bool includes(const std::set<std::string>& all,
              const std::set<std::string>& some) {
  return std::includes(all.begin(), all.end(), some.begin(), some.end());
}

std::string metric_line(const server& srv, const std::string& prefix) {
  auto body = billow::test::http_get(srv.port, "/metrics").body;
  auto at = body.find("\n" + prefix);
  if (at == std::string::npos)
    return {};
  auto end = body.find('\n', at + 1);
  return body.substr(at + 1, end - at - 1);
}

} // namespace

class storage_full_test : public ::testing::Test {
protected:
  billow::test::temp_dir dir{"storage"};
  // After `dir`: unmounted before the directory is removed.
  small_volume volume{dir.path() / "vol", dir.path() / "vol.img"};
};

TEST_F(storage_full_test,
       a_full_volume_answers_507_and_writes_resume_when_space_returns) {
  ASSERT_TRUE(volume.mounted()) << volume.why_not();
  auto data = (dir.path() / "vol" / "data").string();
  auto [created, out] = run_billow("admin create --email ops@example.com "
                                   "--password long-enough --data "
                                   + data);
  ASSERT_EQ(created, 0) << out;
  auto srv = start_server(data);
  ASSERT_TRUE(srv->start()) << srv->proc.log();
  std::set<std::string> acknowledged;
  constexpr int rounds = 4;
  auto started = std::chrono::steady_clock::now();
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("fill " + std::to_string(round + 1));
    volume.fill("filler", 1 << 20);
    fill_result fill;
    create_clients(*srv, fill, 4, 20, 15s, "r" + std::to_string(round));
    srv->proc.read_log(100);
    ASSERT_TRUE(srv->alive()) << srv->proc.log();
    EXPECT_TRUE(fill.unexpected.empty())
      << fill.unexpected.size()
      << " unexpected answers, the first: " << fill.unexpected.front();
    ASSERT_GE(fill.full, 20u) << "the volume never filled up";
    acknowledged.insert(fill.acknowledged.begin(), fill.acknowledged.end());

    // The 507 is a problem a person can act on, without the server's files.
    auto& full = fill.full_reply;
    EXPECT_EQ(full.header("content-type"), "application/problem+json");
    auto problem = boost::json::parse(full.body).as_object();
    EXPECT_EQ(problem.at("type").as_string(), "/problems/storage_full");
    EXPECT_EQ(problem.at("status").as_int64(), 507);
    EXPECT_NE(full.body.find("free"), std::string::npos) << full.body;
    EXPECT_EQ(full.body.find(dir.path().string()), std::string::npos)
      << full.body;
    EXPECT_EQ(full.body.find(".log"), std::string::npos) << full.body;

    // Reads and logins go on; readiness and the metrics say why not ready.
    EXPECT_FALSE(srv->login().empty());
    EXPECT_TRUE(includes(listed_clients(*srv), fill.acknowledged));
    auto ready = billow::test::http_get(srv->port, "/readyz");
    EXPECT_EQ(ready.status, 503u);
    EXPECT_NE(ready.body.find("event_log"), std::string::npos) << ready.body;
    EXPECT_NE(ready.body.find("full"), std::string::npos) << ready.body;
    EXPECT_EQ(metric_line(*srv, "billow_storage_state{state=\"full\"}"),
              "billow_storage_state{state=\"full\"} 1");

    // Space returns: writes and the followers resume by themselves.
    volume.remove("filler");
    std::cerr << "free after fill " << round + 1 << ": "
              << volume.free_bytes() / 1024 << " KiB, "
              << fill.acknowledged.size() << " written\n";
    bool wrote = eventually(
      [&] {
        fill_result after;
        create_clients(*srv, after, 1, 1, 1s, "a" + std::to_string(round));
        acknowledged.insert(after.acknowledged.begin(),
                            after.acknowledged.end());
        EXPECT_TRUE(after.unexpected.empty()) << after.unexpected.front();
        return !after.acknowledged.empty() || !srv->alive();
      },
      // DB::Resume flushes every column family's memtable first; in a
      // fresh-clone `make test` beside other tests it once took over 10 s
      // (see the note on issue 25).
      30s);
    srv->proc.read_log(100);
    ASSERT_TRUE(srv->alive()) << srv->proc.log();
    ASSERT_TRUE(wrote) << srv->proc.log();
    EXPECT_TRUE(eventually(
      [&] {
        return billow::test::http_get(srv->port, "/readyz").status == 200;
      },
      10s))
      << billow::test::http_get(srv->port, "/readyz").body;
    EXPECT_TRUE(eventually(
      [&] {
        return includes(listed_clients(*srv), acknowledged);
      },
      10s));
    EXPECT_EQ(metric_line(*srv, "billow_storage_state{state=\"ok\"}"),
              "billow_storage_state{state=\"ok\"} 1");
    EXPECT_EQ(metric_line(*srv, "billow_follower_stopped{follower=\"jobs\"}"),
              "billow_follower_stopped{follower=\"jobs\"} 0");
  }
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 90s);
  // Each fault and each recovery is one log line.
  auto log = srv->proc.log();
  std::regex faults{"storage: the event log takes no writes"};
  std::regex recoveries{"storage: the event log takes writes again"};
  auto count = [&](const std::regex& re) {
    return std::distance(std::sregex_iterator(log.begin(), log.end(), re),
                         std::sregex_iterator());
  };
  EXPECT_EQ(count(faults), rounds) << log;
  EXPECT_EQ(count(recoveries), rounds) << log;

  // Nothing acknowledged is lost when the process dies without warning.
  srv->proc.stop(SIGKILL);
  srv = start_server(data);
  ASSERT_TRUE(srv->start()) << srv->proc.log();
  EXPECT_TRUE(includes(listed_clients(*srv), acknowledged));
  srv->proc.stop(SIGTERM);
  auto [verified, report] = run_billow("verify --data " + data);
  EXPECT_EQ(verified, 0) << report;
}
