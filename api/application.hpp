#pragma once

// The running server: the actor system, the front actor with its routes, and
// the HTTP listener, assembled from one set of options. `billow serve` runs
// one; tests start one on a free port.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include <caf/error.hpp>

#include "actors/clock.hpp"
#include "actors/runtime.hpp"
#include "api/data_dir.hpp"
#include "api/http_server.hpp"
#include "api/router.hpp"

namespace billow::api {

/// Everything `billow serve` can be told.
struct application_options {
  http_options http;
  actors::runtime_options runtime;
  /// Where Billow keeps its data (the event log).
  std::filesystem::path data_dir = "data";
  /// Where modules are scanned (`{Type}/{Name}/` folders); empty: none.
  std::filesystem::path modules_dir;
  /// Threads for request work that blocks (store reads, chain checks).
  std::size_t blocking_threads = 2;
  /// Threads for Argon2id password checks and hashes (logins, new client
  /// logins), apart from everything else (api/password_pool.hpp).
  std::size_t password_threads = 2;
  /// Password checks queued or running at most; more are refused with 503
  /// and `Retry-After` (so a login waits behind at most this many).
  std::size_t password_queue = 64;
  /// Of which at most this many from one address; more: 429.
  std::size_t password_queue_per_address = 16;
  /// Threads running module code (jobs): I/O-bound, so more than cores.
  std::size_t worker_threads = 8;
  /// `manual` stops time until it is advanced (tests, `--clock=manual`).
  actors::clock_kind clock = actors::clock_kind::system;
  /// How long a read waits for `?min_position=` before answering 504 (the
  /// wait holds no thread: api/read_waits.hpp).
  std::chrono::milliseconds read_wait = std::chrono::seconds(5);
  /// `/readyz` fails while a projection is more events than this behind.
  uint64_t max_projection_lag = 10'000;
  /// Adds routes beyond Billow's own (embedding and tests).
  std::function<void(route_table&)> extra_routes;
};

class application {
public:
  explicit application(application_options opts);
  ~application();

  application(const application&) = delete;
  application& operator=(const application&) = delete;

  /// Opens the data directory and the event log, starts the actors and
  /// listens. Errors: `data_dir_locked` when another process holds the data
  /// directory, `storage_error`, `unavailable` when the address is taken.
  caf::error start();

  /// The bound HTTP port.
  uint16_t port() const noexcept;

  /// Begins a graceful shutdown (also what SIGINT/SIGTERM do when the HTTP
  /// options say so).
  void shutdown();

  /// Blocks until the HTTP server has drained, then stops the actors.
  void wait();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace billow::api
