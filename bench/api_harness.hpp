#pragma once

// What the benches of the HTTP API share: `billow serve` as a child process
// on a temporary data directory with an admin, wrk runs bounded by time and
// by requests (Lua scripts that stop each thread after its share and print
// one result line), and the suspend/unsuspend rounds on services of a
// product without a module (`api_suspend_unsuspend_rps_no_module`, the
// baseline of more than one bench).

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace billow::bench {

/// wrk's threads and connections, and each run's bounds: seconds, and
/// requests across threads (more than a run's seconds can answer here, so
/// time bounds).
inline constexpr int wrk_threads = 2;
inline constexpr int wrk_connections = 64;
inline constexpr int wrk_seconds = 4;
inline constexpr long wrk_max_requests = 2'000'000;

/// The directory of this executable (build/bench).
std::filesystem::path exe_dir();

/// Runs `cmd` through the shell; its standard output, or throws.
std::string run_command(const std::string& cmd);

/// A loopback port nobody listens on right now.
uint16_t free_port();

/// `billow serve` as a child process, stopped with SIGTERM (then SIGKILL).
class billow_server {
public:
  billow_server(const std::filesystem::path& billow,
                const std::filesystem::path& data,
                const std::filesystem::path& log,
                const std::filesystem::path& modules, uint16_t port);
  ~billow_server();
  billow_server(const billow_server&) = delete;
  billow_server& operator=(const billow_server&) = delete;

  void stop();

  uint16_t port() const {
    return port_;
  }

  /// CPU seconds (user + system) the server used so far.
  double cpu_seconds() const;

private:
  uint16_t port_;
  pid_t pid_ = 0;
};

/// What one wrk run measured (from the script's `done`).
struct wrk_result {
  double requests = 0;
  double seconds = 0;
  double p99_ms = 0;
  double non2xx = 0;
  double socket_errors = 0;
  /// The status of the first non-2xx answer (0: none).
  double first_bad_status = 0;
  /// The sum of the threads' `extra` counters (what a script counts beyond
  /// requests, such as invoices paid).
  double extra = 0;

  /// Requests answered with 2xx, a second: a refused command (409 while
  /// its service's job still runs) is not a command done, as bench_actor's
  /// baseline does not count its refused ones either.
  double rps() const {
    return seconds > 0 ? (requests - non2xx) / seconds : 0;
  }
};

/// The Lua every script shares: `ids` and `token` as globals, the
/// per-thread request cap (`limit`, `max_requests` across threads),
/// `count(status, body)` for each answer (non-2xx counted, the first one's
/// status kept), and one result line from `done`.
std::string lua_common(const std::vector<std::string>& ids,
                       const std::string& token,
                       long max_requests = wrk_max_requests);

/// Runs wrk with `script` against 127.0.0.1:port (BENCH_API_VERBOSE=1
/// prints its report).
wrk_result run_wrk(const std::filesystem::path& script, uint16_t port);

/// The best of the wrk runs of alternating commands on some services.
struct command_run {
  wrk_result best;
  double non2xx = 0, errors = 0, first_bad = 0, cpu = 0, served = 0;
};

/// A `billow serve` on a fresh data directory (its admin made by `billow
/// admin create` before it starts), logged in over one keep-alive
/// connection.
class api_session {
public:
  /// `prefix` names the temporary directory (`bench-api`).
  explicit api_session(const std::string& prefix);
  ~api_session();
  api_session(const api_session&) = delete;
  api_session& operator=(const api_session&) = delete;

  /// POSTs `body` and answers the JSON reply; throws unless the status is
  /// `want`.
  boost::json::object post(const std::string& target,
                           const boost::json::object& body, unsigned want);

  /// GETs `target` with the token.
  test::http_reply get(const std::string& target);

  /// The service once no operation is pending on it (bounded).
  boost::json::object wait_settled(const std::string& id);

  /// A client, a product without a module and `n` services of it,
  /// provisioned by hand (no jobs): the services' ids (and the client's in
  /// `client_id`, when given).
  std::vector<std::string> manual_services(int n,
                                           std::string* client_id = nullptr);

  /// One wrk run of alternating suspend and unsuspend on `ids` (one command
  /// at a time per service), added to `out`.
  void command_round(const std::vector<std::string>& ids, command_run& out);

  /// The bearer token (`Bearer ...`).
  const std::string& token() const {
    return token_;
  }

  billow_server& server() {
    return *server_;
  }

  /// A path in the session's temporary directory.
  std::filesystem::path file(const std::string& name) const {
    return dir_.path() / name;
  }

  void stop();

private:
  test::temp_dir dir_;
  std::filesystem::path data_;
  std::filesystem::path billow_;
  std::unique_ptr<billow_server> server_;
  std::unique_ptr<test::http_connection> conn_;
  std::string token_;
};

/// The value of figure `name` in a bench binary's output.
std::optional<double> figure_value(const std::string& out,
                                   const std::string& name);

} // namespace billow::bench
