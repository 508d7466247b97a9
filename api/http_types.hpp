#pragma once

// The HTTP front's own request and response types: what a route handler sees.
// They are plain values without Beast in them, so handlers, the router and the
// actors compile without Beast's headers, and requests can travel as messages.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace billow::api {

/// A header field, name as sent.
using header_field = std::pair<std::string, std::string>;

/// One HTTP request as the server parsed it.
struct http_request {
  /// Method in upper case as sent (`GET`, `POST`, ...).
  std::string method;
  /// The request target as sent: path and query (`/api/v1/x?limit=10`).
  std::string target;
  /// The decoded path without the query.
  std::string path;
  /// Decoded query parameters in order of appearance.
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<header_field> headers;
  std::string body;
  /// The peer's address, for logs.
  std::string remote;

  /// The first header named `name` (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
  /// The first query parameter named `name`, if any.
  std::optional<std::string_view> query_param(std::string_view name) const;
};

/// The body of a streamed response (server-sent events): written piece by
/// piece, from any thread, as chunks of a chunked HTTP/1.1 response.
class body_stream {
public:
  /// Called once a write finished: true when the chunk was sent, false when
  /// the connection is gone (stop writing then).
  using done_fn = std::function<void(bool sent)>;

  virtual ~body_stream();

  /// Queues `chunk`; `done` runs (on an I/O thread) once it was written.
  /// Writers wait for `done` before the next write: that is the
  /// backpressure a slow client exerts.
  virtual void write(std::string chunk, done_fn done) = 0;

  /// Ends the body (the last chunk) and the connection.
  virtual void close() = 0;
};

/// One HTTP response as a handler produced it.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<header_field> headers;
  /// The route pattern that produced it (`/healthz`), a label for metrics.
  std::string route;
  /// Whether the server must close the connection after sending.
  bool close = false;
  /// When set, the response is streamed: the server sends the headers
  /// (chunked, `body` ignored) and then hands the stream to this function,
  /// which writes the body over time. The connection ends with the stream.
  std::function<void(std::shared_ptr<body_stream>)> on_stream = nullptr;
};

/// A JSON response with `status`.
http_response json_response(unsigned status, std::string body);

/// An in-flight request and the way back to its connection.
///
/// The server makes one per request and hands it to the front actor as a
/// message; whoever answers calls `reply` once, from any thread, and the
/// response is written on the connection's strand. An exchange dropped
/// without an answer (an actor died, the system is shutting down) answers
/// 503 from its destructor, so no connection ever waits forever.
class exchange {
public:
  using reply_fn = std::function<void(http_response)>;

  exchange(http_request request, reply_fn reply);
  ~exchange();

  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  const http_request& request() const noexcept {
    return request_;
  }

  /// Sends `response`; calls after the first are ignored.
  void reply(http_response response);

  /// Whether `reply` has been called.
  bool replied() const noexcept {
    return !reply_;
  }

private:
  http_request request_;
  reply_fn reply_;
};

using exchange_ptr = std::shared_ptr<exchange>;

} // namespace billow::api
