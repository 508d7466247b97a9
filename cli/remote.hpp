#pragma once

// The CLI's way to a running server: the operator tools (`billow login`,
// `events`, `state`, `verify`) call its admin API over HTTP when given
// `--server URL` (env BILLOW_SERVER) and a token (`--token`, env
// BILLOW_TOKEN), because a running server holds the data directory's lock.
// libcurl does the HTTP; Boost.URL builds the addresses.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace billow::cli {

/// One HTTP answer.
struct remote_answer {
  long status = 0;
  std::string body;

  bool ok() const noexcept {
    return status >= 200 && status < 300;
  }

  /// "404 Not Found: no stream service-..." from a problem+json body (or
  /// the raw body when it is not one).
  std::string problem_text() const;
};

/// Query parameters in order; empty values are left out.
using query_params = std::vector<std::pair<std::string, std::string>>;

/// A server's admin API.
class remote {
public:
  /// `server` is the base URL (`http://127.0.0.1:8080`); `token` the bearer
  /// token (may be empty for the login call).
  remote(std::string server, std::string token);

  /// GET `path` with `params`. Errors are transport failures (refused,
  /// timed out, bad URL); HTTP errors are answers.
  caf::expected<remote_answer> get(std::string_view path,
                                   const query_params& params = {}) const;

  /// POST `path` with a JSON body.
  caf::expected<remote_answer> post_json(std::string_view path,
                                         const std::string& body) const;

  /// GET `path` as a server-sent event stream: calls `on_line` with each
  /// line (without its line break) until it returns false, the server ends
  /// the stream, or the connection fails. Answers the HTTP status (and the
  /// body when the server refused the stream).
  caf::expected<remote_answer>
  stream_lines(std::string_view path, const query_params& params,
               const std::function<bool(std::string_view)>& on_line) const;

private:
  /// GET, or POST when `json_body` is given; the answer, whatever its status.
  caf::expected<remote_answer>
  call(std::string_view path, const query_params& params,
       const std::string* json_body, long timeout_s) const;

  caf::expected<std::string> url(std::string_view path,
                                 const query_params& params) const;

  std::string server_;
  std::string token_;
};

} // namespace billow::cli
