#pragma once

// A bounded HTTP/1.1 load generator for benchmarks: N keep-alive connections
// on loopback, each sending GET requests back to back until a request count or
// a time limit is reached, whichever comes first.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace billow::bench {

struct load_result {
  uint64_t requests = 0;
  uint64_t errors = 0;
  double seconds = 0;

  double rps() const {
    return seconds > 0 ? static_cast<double>(requests) / seconds : 0;
  }
};

/// Runs `connections` clients against 127.0.0.1:port on `threads` threads.
load_result run_http_load(uint16_t port, const std::string& target,
                          std::size_t connections, std::size_t threads,
                          uint64_t max_requests,
                          std::chrono::milliseconds max_time);

/// A minimal Beast server answering every request with the same bytes as
/// Billow's /healthz (or with `body`): the ceiling of the HTTP stack on this
/// machine.
class minimal_http_server {
public:
  explicit minimal_http_server(std::size_t io_threads,
                               std::string body = R"({"status":"ok"})");
  ~minimal_http_server();
  minimal_http_server(const minimal_http_server&) = delete;
  minimal_http_server& operator=(const minimal_http_server&) = delete;

  uint16_t port() const noexcept;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace billow::bench
