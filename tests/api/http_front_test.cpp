// The HTTP front, tested as a client sees it: a real server on a free
// loopback port, real HTTP clients and raw sockets.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/application.hpp"
#include "api/pending_answers.hpp"
#include "api/problem.hpp"
#include "events/errc.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
using billow::test::http_connection;
using billow::test::http_get;
using billow::test::raw_connection;
using billow::test::raw_exchange;

namespace {

/// Requests parked by the `/test/hold` route until the test answers them.
struct held_requests {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<billow::api::request_context> waiting;

  void park(const billow::api::request_context& ctx) {
    std::lock_guard guard{mtx};
    waiting.push_back(ctx);
    cv.notify_all();
  }

  billow::api::request_context wait_for_one() {
    std::unique_lock guard{mtx};
    cv.wait_for(guard, 10s, [&] {
      return !waiting.empty();
    });
    if (waiting.empty())
      throw std::runtime_error("no request arrived at /test/hold");
    auto ctx = waiting.front();
    waiting.erase(waiting.begin());
    return ctx;
  }
};

class http_front_test : public ::testing::Test {
protected:
  void SetUp() override {
    start();
  }

  void TearDown() override {
    if (app_) {
      app_->shutdown();
      app_->wait();
    }
  }

  void start(const std::function<void(billow::api::application_options&)>& tweak
             = {}) {
    billow::api::application_options opts;
    opts.http.host = "127.0.0.1";
    opts.http.port = 0;
    opts.http.body_limit = std::size_t{64} * 1024;
    opts.http.header_timeout = 300ms;
    opts.http.shutdown_timeout = 10s;
    opts.runtime.scheduler_threads = 2;
    opts.data_dir = dir_.path() / "data";
    opts.extra_routes = [held = held_](billow::api::route_table& routes) {
      routes.add("GET", "/test/hold",
                 [held](const billow::api::request_context& ctx) {
                   held->park(ctx);
                 });
      routes.add("GET", "/test/drop", [](const billow::api::request_context&) {
        // Answers nothing: the exchange is dropped when the message is done.
      });
      routes.add("GET", "/test/late",
                 [](const billow::api::request_context& ctx) {
                   // Waits for an answer that never comes, bounded by the
                   // front.
                   ctx.pending->add(
                     ctx, billow::api::pending_answers::clock::now() + 50ms);
                 });
      routes.add("GET", "/test/prompt",
                 [](const billow::api::request_context& ctx) {
                   // Answered before its deadline: the sweep leaves it alone.
                   auto ticket = ctx.pending->add(
                     ctx, billow::api::pending_answers::clock::now() + 50ms);
                   if (auto waiting = ctx.pending->take(ticket))
                     waiting->reply(billow::api::json_response(200, "{}"));
                 });
      routes.add("GET", "/test/fields",
                 [](const billow::api::request_context& ctx) {
                   auto resp = billow::api::json_response(200, "{}");
                   resp.headers.emplace_back("X-Kept", "yes");
                   // Would end the field early and add one of its own.
                   resp.headers.emplace_back("X-Split", "a\r\nX-Injected: 1");
                   // Framing is the server's.
                   resp.headers.emplace_back("Content-Length", "999");
                   ctx.reply(std::move(resp));
                 });
      routes.add("GET", "/test/throw", [](const billow::api::request_context&) {
        throw std::runtime_error("handler bug");
      });
      routes.add(
        "POST", "/test/echo", [](const billow::api::request_context& ctx) {
          ctx.reply(billow::api::json_response(
            200,
            boost::json::serialize(boost::json::object{
              {"bytes", ctx.request().body.size()},
              {"path", ctx.request().path},
              {"q",
               std::string{ctx.request().query_param("q").value_or("")}}})));
        });
    };
    if (tweak)
      tweak(opts);
    app_ = std::make_unique<billow::api::application>(std::move(opts));
    ASSERT_FALSE(app_->start());
    port_ = app_->port();
    ASSERT_NE(port_, 0);
  }

  static void expect_problem(const billow::test::http_reply& reply,
                             unsigned status) {
    EXPECT_EQ(reply.status, status);
    EXPECT_EQ(reply.header("content-type"), "application/problem+json");
    auto doc = boost::json::parse(reply.body).as_object();
    EXPECT_EQ(doc.at("status").as_int64(), status);
    EXPECT_FALSE(doc.at("title").as_string().empty());
    EXPECT_FALSE(doc.at("detail").as_string().empty());
    EXPECT_TRUE(doc.contains("type"));
  }

  billow::test::temp_dir dir_;
  std::shared_ptr<held_requests> held_ = std::make_shared<held_requests>();
  std::unique_ptr<billow::api::application> app_;
  uint16_t port_ = 0;
};

/// The status line and body of a raw HTTP response text.
unsigned status_of(const std::string& raw) {
  std::smatch m;
  if (std::regex_search(raw, m, std::regex{R"(^HTTP/1\.1 (\d{3}) )"}))
    return static_cast<unsigned>(std::stoul(m[1]));
  return 0;
}

} // namespace

TEST_F(http_front_test, healthz_answers_ok) {
  auto reply = http_get(port_, "/healthz");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.header("content-type"), "application/json");
  EXPECT_EQ(boost::json::parse(reply.body).at("status").as_string(), "ok");
}

TEST_F(http_front_test, readyz_reports_each_check) {
  auto reply = http_get(port_, "/readyz");
  EXPECT_EQ(reply.status, 200u);
  auto doc = boost::json::parse(reply.body).as_object();
  EXPECT_EQ(doc.at("status").as_string(), "ready");
  EXPECT_EQ(doc.at("checks").at("http").as_string(), "ok");
  EXPECT_EQ(doc.at("checks").at("event_log").as_string(), "ok");
}

TEST_F(http_front_test, head_answers_headers_without_body) {
  http_connection conn{port_};
  auto reply = conn.request("HEAD", "/healthz");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.header("content-length"), "15");
  EXPECT_TRUE(reply.body.empty());
  // The connection is still usable: no stray body bytes were sent.
  EXPECT_EQ(conn.request("GET", "/healthz").body, R"({"status":"ok"})");
}

TEST_F(http_front_test, unknown_route_answers_404_problem) {
  auto reply = http_get(port_, "/api/v1/nothing-here");
  expect_problem(reply, 404);
}

TEST_F(http_front_test, wrong_method_answers_405_with_allow) {
  http_connection conn{port_};
  auto reply = conn.request("DELETE", "/healthz");
  expect_problem(reply, 405);
  EXPECT_EQ(reply.header("allow"), "GET");
}

TEST_F(http_front_test, malformed_request_line_answers_400_and_closes) {
  auto raw = raw_exchange(port_, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(status_of(raw), 400u);
  EXPECT_NE(raw.find("application/problem+json"), std::string::npos);
  EXPECT_NE(raw.find("Malformed HTTP request"), std::string::npos);
  // The server is still up.
  EXPECT_EQ(http_get(port_, "/healthz").status, 200u);
}

TEST_F(http_front_test, malformed_header_answers_400) {
  auto raw = raw_exchange(
    port_, "GET /healthz HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n");
  EXPECT_EQ(status_of(raw), 400u);
  EXPECT_NE(raw.find("application/problem+json"), std::string::npos);
}

TEST_F(http_front_test, invalid_target_answers_400) {
  auto raw = raw_exchange(
    port_, "GET /a%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(raw), 400u);
  EXPECT_NE(raw.find("application/problem+json"), std::string::npos);
}

TEST_F(http_front_test, oversized_body_answers_413_problem) {
  std::string body(std::size_t{200} * 1024, 'x'); // limit is 64 KiB
  http_connection conn{port_};
  auto reply = conn.request("POST", "/test/echo", body);
  expect_problem(reply, 413);
  EXPECT_FALSE(reply.keep_alive);
}

TEST_F(http_front_test, body_at_the_limit_is_accepted) {
  std::string body(std::size_t{64} * 1024, 'x');
  http_connection conn{port_};
  auto reply = conn.request("POST", "/test/echo?q=a%20b", body);
  ASSERT_EQ(reply.status, 200u);
  auto doc = boost::json::parse(reply.body);
  EXPECT_EQ(doc.at("bytes").as_int64(), 64 * 1024);
  EXPECT_EQ(doc.at("q").as_string(), "a b"); // query decoded
}

TEST_F(http_front_test, thousand_requests_on_one_keep_alive_connection) {
  http_connection conn{port_};
  for (int i = 0; i < 1000; ++i) {
    auto reply = conn.request("GET", "/healthz");
    ASSERT_EQ(reply.status, 200u) << "request " << i;
    ASSERT_TRUE(reply.keep_alive) << "request " << i;
  }
  // All of them were counted on the one connection.
  auto metrics = http_get(port_, "/metrics").body;
  EXPECT_NE(
    metrics.find(
      R"(billow_http_requests_total{method="GET",route="/healthz",status="200"} 1000)"),
    std::string::npos)
    << metrics;
}

TEST_F(http_front_test, fifty_concurrent_connections) {
  constexpr int connections = 50;
  constexpr int per_connection = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  clients.reserve(connections);
  for (int c = 0; c < connections; ++c)
    clients.emplace_back([&] {
      http_connection conn{port_};
      for (int i = 0; i < per_connection; ++i)
        if (conn.request("GET", "/healthz").status == 200)
          ++ok;
    });
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(ok.load(), connections * per_connection);
}

TEST_F(http_front_test, pipelined_requests_are_answered_in_order) {
  auto raw = raw_exchange(
    port_,
    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
    "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto first = raw.find("HTTP/1.1 200");
  auto second = raw.find("HTTP/1.1 404");
  auto third = raw.find("HTTP/1.1 200", second);
  ASSERT_NE(first, std::string::npos) << raw;
  ASSERT_NE(second, std::string::npos) << raw;
  ASSERT_NE(third, std::string::npos) << raw;
  EXPECT_LT(first, second);
  EXPECT_NE(raw.find("\"ready\""), std::string::npos);
}

TEST_F(http_front_test, a_request_arriving_in_pieces_is_answered_whole) {
  raw_connection conn{port_};
  conn.send("POST /test/echo?q=x HTTP/1.1\r\nHo");
  std::this_thread::sleep_for(20ms);
  conn.send("st: x\r\nContent-Length: 10\r\n\r\n01234");
  std::this_thread::sleep_for(20ms);
  conn.send("56789");
  std::this_thread::sleep_for(20ms);
  conn.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  bool closed = false;
  auto raw = conn.read_until_close(5s, closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(status_of(raw), 200u) << raw;
  EXPECT_NE(raw.find(R"("bytes":10)"), std::string::npos) << raw;
  EXPECT_NE(raw.find(R"("status":"ok")"), std::string::npos) << raw;
}

TEST_F(http_front_test, response_fields_cannot_split_the_head) {
  auto raw = raw_exchange(
    port_, "GET /test/fields HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(raw), 200u) << raw;
  EXPECT_NE(raw.find("X-Kept: yes\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("X-Injected"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("999"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Length: 2\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.substr(raw.size() - 6), "\r\n\r\n{}") << raw;
}

TEST_F(http_front_test, http_1_0_closes_unless_asked_to_keep_alive) {
  raw_connection kept{port_};
  kept.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  kept.send("GET /healthz HTTP/1.0\r\n\r\n");
  bool closed = false;
  auto raw = kept.read_until_close(5s, closed);
  EXPECT_TRUE(closed);
  auto first = raw.find("HTTP/1.0 200 OK\r\n");
  ASSERT_NE(first, std::string::npos) << raw;
  EXPECT_NE(raw.find("Connection: keep-alive\r\n"), std::string::npos) << raw;
  // The second answer (no keep-alive asked) ends the connection.
  EXPECT_NE(raw.find("HTTP/1.0 200 OK\r\n", first + 1), std::string::npos)
    << raw;
}

TEST_F(http_front_test, slow_client_is_cut_off_by_the_header_timeout) {
  raw_connection slow{port_};
  slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n"); // and never finishes
  bool closed = false;
  auto start = std::chrono::steady_clock::now();
  auto got = slow.read_until_close(5s, closed);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed) << "the server kept a stalled request open";
  EXPECT_LT(waited, 4s);
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos);
  // Others are served meanwhile and afterwards.
  EXPECT_EQ(http_get(port_, "/healthz").status, 200u);
}

TEST_F(http_front_test, handler_that_throws_answers_500_and_server_stays_up) {
  expect_problem(http_get(port_, "/test/throw"), 500);
  EXPECT_EQ(http_get(port_, "/healthz").status, 200u);
}

TEST_F(http_front_test, request_dropped_unanswered_gets_503) {
  expect_problem(http_get(port_, "/test/drop"), 503);
}

// A request waiting in the front's pending answers past its deadline is
// answered 504 problem+json by the front's sweep (within about a second);
// one answered in time is answered once, by its handler.
TEST_F(http_front_test, a_pending_answer_past_its_deadline_gets_504) {
  auto t0 = std::chrono::steady_clock::now();
  auto late = http_get(port_, "/test/late");
  expect_problem(late, 504);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  auto prompt = http_get(port_, "/test/prompt");
  EXPECT_EQ(prompt.status, 200u) << prompt.body;
  EXPECT_EQ(prompt.body, "{}");
}

TEST(pending_answers, take_gives_each_context_once_and_expire_keeps_order) {
  billow::api::pending_answers pending;
  int added = 0;
  pending.on_add([&] {
    ++added;
  });
  auto now = billow::api::pending_answers::clock::now();
  billow::api::request_context a{nullptr, nullptr, {}, "a"};
  billow::api::request_context b{nullptr, nullptr, {}, "b"};
  billow::api::request_context c{nullptr, nullptr, {}, "c"};
  auto ta = pending.add(a, now + 1s);
  auto tb = pending.add(b, now + 2s);
  auto tc = pending.add(c, now + 3s);
  EXPECT_EQ(added, 3);
  EXPECT_EQ(pending.size(), 3u);
  auto got = pending.take(tb);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->route, "b");
  EXPECT_FALSE(pending.take(tb)); // once
  EXPECT_TRUE(pending.expire(now).empty());
  auto late = pending.expire(now + 2500ms);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late.front().route, "a");
  EXPECT_FALSE(pending.take(ta)); // expired: its reply finds nothing
  ASSERT_TRUE(pending.take(tc));
  EXPECT_TRUE(pending.empty());
}

TEST_F(http_front_test, metrics_count_requests_by_route_and_status) {
  http_get(port_, "/healthz");
  http_get(port_, "/nope");
  auto reply = http_get(port_, "/metrics");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.header("content-type"),
            "text/plain; version=0.0.4; charset=utf-8");
  const auto& text = reply.body;
  EXPECT_NE(
    text.find(
      R"(billow_http_requests_total{method="GET",route="/healthz",status="200"} 1)"),
    std::string::npos)
    << text;
  EXPECT_NE(
    text.find(
      R"(billow_http_requests_total{method="GET",route="unmatched",status="404"} 1)"),
    std::string::npos);
  EXPECT_NE(
    text.find(
      R"(billow_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 1)"),
    std::string::npos);
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(text.find("process_open_fds "), std::string::npos);
  EXPECT_NE(text.find("process_cpu_seconds_total "), std::string::npos);
  // Failed accepts by reason are there before the first one.
  EXPECT_NE(
    text.find(R"(billow_http_accept_failures_total{reason="emfile"} 0)"),
    std::string::npos)
    << text;
}

TEST_F(http_front_test, graceful_shutdown_finishes_the_in_flight_request) {
  std::optional<billow::test::http_reply> reply;
  std::thread client{[&] {
    http_connection conn{port_};
    reply = conn.request("GET", "/test/hold");
  }};
  auto parked = held_->wait_for_one();
  // An idle keep-alive connection is closed by the shutdown.
  raw_connection idle{port_};
  idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  bool idle_closed = false;
  auto idle_got = idle.read_until_close(1s, idle_closed);
  ASSERT_EQ(status_of(idle_got), 200u);
  ASSERT_FALSE(idle_closed);
  app_->shutdown();
  idle.read_until_close(5s, idle_closed);
  EXPECT_TRUE(idle_closed);
  // New connections are refused once the listener has closed.
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    try {
      raw_connection probe{port_};
      std::this_thread::sleep_for(20ms);
    } catch (const std::exception&) {
      refused = true;
    }
  }
  EXPECT_TRUE(refused);
  // The in-flight request still gets its answer, then the server stops.
  parked.reply(billow::api::json_response(200, R"({"finished":true})"));
  client.join();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200u);
  EXPECT_EQ(reply->body, R"({"finished":true})");
  EXPECT_FALSE(reply->keep_alive);
  app_->wait();
  app_.reset();
}

TEST_F(http_front_test, second_server_on_the_same_data_dir_is_refused) {
  billow::api::application_options opts;
  opts.http.port = 0;
  opts.data_dir = dir_.path() / "data";
  billow::api::application second{opts};
  auto err = second.start();
  ASSERT_TRUE(err);
  EXPECT_EQ(billow::errc_of(err), billow::billow_errc::data_dir_locked);
  EXPECT_NE(billow::detail_of(err).find(opts.data_dir.string()),
            std::string::npos)
    << billow::detail_of(err);
  // The first one is untouched.
  EXPECT_EQ(http_get(port_, "/readyz").status, 200u);
}

TEST_F(http_front_test, metrics_include_the_event_log_writer) {
  auto text = http_get(port_, "/metrics").body;
  EXPECT_NE(text.find("billow_event_appends_total"), std::string::npos) << text;
}

// -- framing (RFC 9112) -------------------------------------------------------

namespace {

/// What a raw request got back: the one response and whether the server
/// closed the connection after it.
struct raw_answer {
  std::string text;
  bool closed = false;
};

raw_answer raw_answer_of(uint16_t port, const std::string& bytes) {
  raw_connection conn{port};
  conn.send(bytes);
  raw_answer out;
  out.text = conn.read_until_close(5s, out.closed);
  return out;
}

/// A 400 problem+json whose `status` is 400, and the connection closed.
void expect_framing_refused(uint16_t port, const std::string& bytes,
                            const std::string& why) {
  SCOPED_TRACE(why);
  auto got = raw_answer_of(port, bytes);
  EXPECT_EQ(status_of(got.text), 400u) << got.text;
  EXPECT_TRUE(got.closed) << "the connection stayed open";
  EXPECT_NE(got.text.find("Content-Type: application/problem+json\r\n"),
            std::string::npos)
    << got.text;
  EXPECT_NE(got.text.find("Connection: close\r\n"), std::string::npos)
    << got.text;
  auto body_at = got.text.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos) << got.text;
  boost::system::error_code ec;
  auto doc = boost::json::parse(got.text.substr(body_at + 4), ec);
  ASSERT_FALSE(ec) << got.text;
  EXPECT_EQ(doc.at("status").as_int64(), 400);
  // Exactly one answer: nothing after the body was taken for a request.
  EXPECT_EQ(got.text.find("\nHTTP/1."), std::string::npos) << got.text;
}

} // namespace

TEST_F(http_front_test, http_1_1_without_host_is_refused) {
  expect_framing_refused(port_, "GET /healthz HTTP/1.1\r\n\r\n", "no Host");
  // Refused from the head alone: the server does not wait for the body.
  expect_framing_refused(
    port_, "POST /test/echo HTTP/1.1\r\nContent-Length: 100\r\n\r\n",
    "no Host, body still to come");
}

TEST_F(http_front_test, two_host_fields_are_refused) {
  expect_framing_refused(port_,
                         "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                         "two Host fields");
  expect_framing_refused(port_,
                         "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
                         "the same Host twice");
}

TEST_F(http_front_test, http_1_0_without_host_is_served) {
  auto got = raw_answer_of(port_, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_NE(got.text.find("HTTP/1.0 200 OK\r\n"), std::string::npos)
    << got.text;
}

TEST_F(http_front_test, transfer_codings_other_than_chunked_are_refused) {
  const std::string head = "POST /test/echo HTTP/1.1\r\nHost: x\r\n";
  expect_framing_refused(
    port_,
    head + "Transfer-Encoding: gzip\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n",
    "gzip (Beast would read no body, and the body as the next request)");
  expect_framing_refused(port_,
                         head
                           + "Transfer-Encoding: gzip, chunked\r\n\r\n"
                             "5\r\nabcde\r\n0\r\n\r\n",
                         "gzip, chunked (the body would stay compressed)");
  expect_framing_refused(port_,
                         head + "Transfer-Encoding: chunked, gzip\r\n\r\n",
                         "chunked not last");
  expect_framing_refused(port_,
                         head
                           + "Transfer-Encoding: gzip\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "5\r\nabcde\r\n0\r\n\r\n",
                         "gzip and chunked in two fields");
  expect_framing_refused(
    port_,
    "POST /test/echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nabcde\r\n0\r\n\r\n",
    "HTTP/1.0 has no transfer codings");
}

TEST_F(http_front_test, content_length_beside_transfer_encoding_is_refused) {
  const std::string head = "POST /test/echo HTTP/1.1\r\nHost: x\r\n";
  // Beast refuses these two orders itself...
  expect_framing_refused(port_,
                         head
                           + "Content-Length: 5\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "5\r\nabcde\r\n0\r\n\r\n",
                         "Content-Length, then chunked");
  expect_framing_refused(port_,
                         head
                           + "Transfer-Encoding: chunked\r\n"
                             "Content-Length: 5\r\n\r\n"
                             "5\r\nabcde\r\n0\r\n\r\n",
                         "chunked, then Content-Length");
  // ...but would take this one's Content-Length.
  expect_framing_refused(port_,
                         head
                           + "Transfer-Encoding: gzip\r\n"
                             "Content-Length: 5\r\n\r\nabcde",
                         "gzip, then Content-Length");
}

TEST_F(http_front_test, a_chunked_body_is_still_read) {
  auto got = raw_answer_of(port_,
                           "POST /test/echo HTTP/1.1\r\nHost: x\r\n"
                           "Transfer-Encoding: chunked\r\n"
                           "Connection: close\r\n\r\n"
                           "5\r\nabcde\r\n3\r\nfgh\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(got.text), 200u) << got.text;
  EXPECT_NE(got.text.find(R"("bytes":8)"), std::string::npos) << got.text;
}

TEST_F(http_front_test, framing_refusals_do_not_stop_the_server) {
  expect_framing_refused(port_, "GET /healthz HTTP/1.1\r\n\r\n", "no Host");
  EXPECT_EQ(http_get(port_, "/healthz").status, 200u);
}

TEST_F(http_front_test, error_bodies_stay_json_for_bytes_that_are_not_utf8) {
  // The path segment decodes to 0xff 0xfe, which the 404 quotes.
  auto reply = http_get(port_, "/api/v1/%ff%fe");
  expect_problem(reply, 404);
  auto detail
    = std::string{boost::json::parse(reply.body).at("detail").as_string()};
  EXPECT_NE(detail.find("\xEF\xBF\xBD\xEF\xBF\xBD"), std::string::npos)
    << detail;
}

TEST(valid_utf8, replaces_each_maximal_ill_formed_subpart) {
  using billow::api::valid_utf8;
  EXPECT_EQ(valid_utf8("plain ascii"), "plain ascii");
  EXPECT_EQ(valid_utf8("\xE2\x82\xAC 12 \xF0\x9F\x98\x80"),
            "\xE2\x82\xAC 12 \xF0\x9F\x98\x80"); // euro sign, emoji: kept
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(valid_utf8("\xFF\xFE"), fffd + fffd);
  EXPECT_EQ(valid_utf8("a\xE2\x82"), "a" + fffd); // truncated: one
  EXPECT_EQ(valid_utf8("\xE2\x82x"), fffd + "x");
  EXPECT_EQ(valid_utf8("\xC0\xAF"), fffd + fffd);            // overlong
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), fffd + fffd + fffd); // a surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);
  EXPECT_EQ(valid_utf8(std::string_view{"a\0b", 3}),
            std::string("a\0b", 3)); // NUL is UTF-8; JSON escapes it
}
