#pragma once

// The HTTP/1.1 server (Boost.Beast, asynchronous), kept behind a narrow
// interface so that only http_server.cpp pays for Beast's headers.
//
// One acceptor and, with several I/O threads, one strand per connection, as
// in Beast's `http_server_async` (with one thread the loop is the strand).
// The front actor's turns run on these threads too (io_execution_unit.hpp).
// Each connection reads one request at a time:
//
//   idle --first byte (idle_timeout)--> headers (header_timeout)
//        --> body (body_timeout, body_limit) --> dispatch --> wait for reply
//        --> write (write_timeout) --> keep-alive? idle : close
//
// Pipelined requests wait in the connection's read buffer and are answered in
// order. Bad input is answered with problem+json and the connection closed:
// malformed HTTP 400 (so is framing RFC 9112 refuses: an HTTP/1.1 request
// without exactly one Host, a transfer coding other than chunked,
// Content-Length beside Transfer-Encoding), oversized body 413, oversized
// headers 431. A client that
// stalls inside a request is disconnected when its timeout runs out.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "api/http_types.hpp"

namespace billow::api {

class http_metrics;

/// How the server listens, what it accepts and how long it waits.
struct http_options {
  std::string host = "127.0.0.1";
  /// 0 picks a free port (see `http_server::port`).
  uint16_t port = 8080;
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  /// From the first byte of a request until its headers are complete.
  std::chrono::milliseconds header_timeout{10'000};
  /// From the end of the headers until the body is complete.
  std::chrono::milliseconds body_timeout{30'000};
  /// Between requests on a keep-alive connection.
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  /// How long a graceful shutdown waits for in-flight requests.
  std::chrono::milliseconds shutdown_timeout{30'000};
  /// Threads running the I/O loop.
  std::size_t io_threads = 1;
  /// Whether SIGINT/SIGTERM start a graceful shutdown.
  bool handle_signals = false;
};

/// Hands a request to whoever answers it (the front actor).
using dispatch_fn = std::function<void(exchange_ptr)>;

class http_server {
public:
  http_server(http_options opts, dispatch_fn dispatch,
              std::shared_ptr<http_metrics> metrics);
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds, listens and starts the I/O threads.
  std::error_code start();

  /// The port bound by `start` (useful with port 0).
  uint16_t port() const noexcept;

  /// Starts a graceful shutdown: stop accepting, close idle connections, let
  /// in-flight requests finish (their responses close the connection), and
  /// stop the I/O loop once all connections are gone or `shutdown_timeout`
  /// has passed. Safe to call from any thread, more than once.
  void shutdown();

  /// Whether a shutdown has begun (readiness reports it).
  bool draining() const noexcept;

  /// Blocks until the I/O loop has stopped (after `shutdown`).
  void wait();

  /// Runs `fn` once, from the thread that begins the shutdown, before
  /// in-flight requests are waited for: whoever holds requests that could
  /// wait long (reads waiting for a position) lets them go. Set before
  /// `start`.
  void on_drain(std::function<void()> fn);

  /// Runs `fn` on one of the I/O threads, after what is already queued there.
  /// Safe from any thread. A function posted once the loop has stopped never
  /// runs (`wait` has returned by then).
  void post(std::function<void()> fn);

  /// The listener's and connections' shared state (http_server.cpp).
  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace billow::api
