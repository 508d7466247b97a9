// Live events over server-sent events: history from a position, then live,
// resumable with Last-Event-ID, and ended cleanly by a server shutdown.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "events/event_store.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using billow::test::http_connection;
using billow::test::raw_connection;

namespace {

class live_events_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto data = dir_.path() / "data";
    std::filesystem::create_directories(data);
    {
      auto store = billow::api::open_data_dir(data);
      ASSERT_TRUE(billow::api::create_admin(**store, "owner@example.com",
                                            "owner-password", "owner"));
    }
    billow::api::application_options opts;
    opts.http.port = 0;
    opts.data_dir = data;
    opts.modules_dir = BILLOW_BUILT_MODULES_DIR; // two module.discovered events
    app_ = std::make_unique<billow::api::application>(opts);
    ASSERT_FALSE(app_->start());
    http_connection conn{app_->port()};
    auto r = conn.request(
      "POST", "/api/v1/auth/admin/token",
      R"({"email":"owner@example.com","password":"owner-password"})");
    token_ = std::string{boost::json::parse(r.body).at("token").as_string()};
  }

  /// Opens a live stream with `extra` headers/query and returns the socket.
  std::unique_ptr<raw_connection> open_live(const std::string& query,
                                            const std::string& extra = {}) {
    auto conn = std::make_unique<raw_connection>(app_->port());
    conn->send("GET /api/v1/admin/events/live" + query
               + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_
               + "\r\n" + extra + "\r\n");
    return conn;
  }

  /// Reads from `conn` until `needle` shows up (or 10 s pass).
  static std::string read_until(raw_connection& conn, const std::string& needle,
                                std::string& seen) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (seen.find(needle) == std::string::npos
           && std::chrono::steady_clock::now() < deadline) {
      bool closed = false;
      seen += conn.read_until_close(100ms, closed);
      if (closed)
        break;
    }
    return seen;
  }

  billow::test::temp_dir dir_{"live"};
  std::unique_ptr<billow::api::application> app_;
  std::string token_;
};

} // namespace

TEST_F(live_events_test, replays_history_then_follows_new_events_live) {
  auto live = open_live("?after=0");
  std::string seen;
  read_until(*live, "id: 3\n", seen);
  EXPECT_NE(seen.find("HTTP/1.1 200"), std::string::npos) << seen;
  EXPECT_NE(seen.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(seen.find("id: 1\nevent: admin.created\ndata: {"),
            std::string::npos)
    << seen;
  EXPECT_NE(seen.find("event: module.discovered"), std::string::npos);
  // Something happens while the client listens.
  http_connection conn{app_->port()};
  auto on = conn.request("POST",
                         "/api/v1/admin/modules/Notification/smtp/activate", {},
                         {{"Authorization", "Bearer " + token_}});
  ASSERT_EQ(on.status, 200u) << on.body;
  read_until(*live, "event: module.activated", seen);
  EXPECT_NE(seen.find("id: 4\nevent: module.activated"), std::string::npos)
    << seen;
}

TEST_F(live_events_test, last_event_id_resumes_after_that_position) {
  auto live = open_live("", "Last-Event-ID: 2\r\n");
  std::string seen;
  read_until(*live, "id: 3\n", seen);
  EXPECT_EQ(seen.find("id: 1\n"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("id: 2\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("id: 3\n"), std::string::npos) << seen;
}

TEST_F(live_events_test, bad_position_and_missing_token_are_refused) {
  auto reply = billow::test::raw_exchange(
    app_->port(),
    "GET /api/v1/admin/events/live?after=x HTTP/1.1\r\nHost: x\r\n"
    "Connection: close\r\nAuthorization: Bearer "
      + token_ + "\r\n\r\n");
  EXPECT_NE(reply.find("HTTP/1.1 422"), std::string::npos) << reply;
  auto anon = billow::test::raw_exchange(
    app_->port(),
    "GET /api/v1/admin/events/live HTTP/1.1\r\nHost: x\r\nConnection: "
    "close\r\n\r\n");
  EXPECT_NE(anon.find("HTTP/1.1 401"), std::string::npos) << anon;
}

TEST_F(live_events_test, shutdown_ends_open_streams_cleanly) {
  auto live = open_live("?after=0");
  std::string seen;
  read_until(*live, "id: 3\n", seen);
  app_->shutdown();
  bool closed = false;
  auto rest = live->read_until_close(10s, closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(rest.find("0\r\n\r\n"), std::string::npos)
    << "no last chunk: " << rest;
  app_->wait();
  app_.reset();
}
