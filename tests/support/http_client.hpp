#pragma once

// A real HTTP/1.1 client for tests (Beast, blocking, with socket timeouts so
// a test fails instead of hanging), plus raw-socket helpers for malformed
// input.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace billow::test {

/// A response as the client saw it. Header names are lower case.
struct http_reply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  /// Whether the server said it keeps the connection open.
  bool keep_alive = false;

  std::string header(const std::string& lower_name) const {
    auto i = headers.find(lower_name);
    return i == headers.end() ? std::string{} : i->second;
  }
};

/// One keep-alive connection to 127.0.0.1:port.
class http_connection {
public:
  explicit http_connection(uint16_t port,
                           std::chrono::milliseconds timeout
                           = std::chrono::seconds(10));
  ~http_connection();

  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// Sends one request and reads its response; throws on I/O errors.
  http_reply
  request(const std::string& method, const std::string& target,
          const std::string& body = {},
          const std::vector<std::pair<std::string, std::string>>& headers = {});

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One request on a fresh connection.
http_reply http_get(uint16_t port, const std::string& target);

/// Writes `bytes` to a fresh connection, then reads until the server closes
/// it or `timeout` passes; returns everything read.
std::string
raw_exchange(uint16_t port, const std::string& bytes,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A connected raw socket, for clients that misbehave on purpose.
class raw_connection {
public:
  explicit raw_connection(uint16_t port);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  void send(const std::string& bytes);
  /// Reads until the peer closes or `timeout` passes. `closed` tells which.
  std::string read_until_close(std::chrono::milliseconds timeout, bool& closed);

private:
  int fd_ = -1;
};

} // namespace billow::test
