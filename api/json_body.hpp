#pragma once

// Reading JSON request bodies and writing common JSON values.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "api/http_types.hpp"
#include "api/problem.hpp"

namespace billow::api {

/// Parses the body as one JSON object (nesting at most 32 deep). On failure
/// answers the problem to send: 400 for malformed JSON or too deep nesting,
/// 422 when the body is JSON but not an object.
std::optional<http_response> parse_object_body(const http_request& req,
                                               boost::json::object& out);

/// Collects field errors for a 422 validation problem.
class field_checker {
public:
  explicit field_checker(const boost::json::object& obj) : obj_(obj) {}

  /// A required, non-empty string of at most `max_len` characters.
  std::string required_string(std::string_view field, size_t max_len = 1024);

  /// An optional string; empty when absent.
  std::string optional_string(std::string_view field, size_t max_len = 1024);

  /// Records a failure of `field` found elsewhere.
  void fail(std::string field, std::string message);

  /// Refuses every field of the body not in `known` ("is not a field of
  /// this request"), and those in `not_yet` ("is not supported yet": the
  /// API names them, this build does not act on them).
  void only(std::initializer_list<std::string_view> known,
            std::initializer_list<std::string_view> not_yet = {});

  bool ok() const noexcept {
    return errors_.empty();
  }

  /// The 422 problem listing every failing field.
  http_response problem() const;

private:
  const boost::json::object& obj_;
  std::vector<field_error> errors_;
};

/// RFC 3339 UTC with microseconds, e.g. `2026-11-24T13:07:32.863123Z`.
std::string rfc3339(int64_t unix_us);

/// Parses RFC 3339 (`Z` or `+hh:mm` offsets, optional fraction) to Unix
/// microseconds.
std::optional<int64_t> parse_rfc3339(std::string_view text);

} // namespace billow::api
