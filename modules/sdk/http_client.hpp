#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace billow::modules::sdk {

/// One HTTP request a module sends to an external API.
struct http_request {
  std::string method = "GET";
  std::string url;
  /// Header lines as name/value pairs.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Time allowed to connect.
  std::chrono::milliseconds connect_timeout{5000};
  /// Time allowed for the whole exchange.
  std::chrono::milliseconds timeout{30000};
  /// Whether to check the server's TLS certificate (on unless a test or a
  /// self-signed lab server says otherwise).
  bool verify_tls = true;
};

/// The answer of an external API.
struct http_response {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first header named `name` (case-insensitive), or empty.
  std::string header(std::string_view name) const;
};

/// A small blocking HTTP(S) client on libcurl for module code (which runs on
/// the worker pool, where blocking is allowed). Every request has a connect
/// timeout and a total timeout; redirects are not followed.
class http_client {
public:
  /// Sends `req`. Any HTTP status is a response; a transport failure is
  /// `billow_errc::unavailable`, a timeout `billow_errc::timeout`, a bad
  /// request (empty URL, unsupported method) `billow_errc::invalid_argument`.
  caf::expected<http_response> send(const http_request& req) const;

  /// GET `url` with the default timeouts.
  caf::expected<http_response> get(std::string url) const;

  /// POST `body` as `application/json` to `url`.
  caf::expected<http_response> post_json(std::string url,
                                         std::string body) const;
};

} // namespace billow::modules::sdk
