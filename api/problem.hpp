#pragma once

// application/problem+json (RFC 9457): the body of every error Billow sends.

#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.hpp"

namespace billow::api {

/// One failing input field of a validation problem.
struct field_error {
  std::string field;
  std::string message;
};

/// A problem document. `type` is a URI naming the kind of problem; Billow uses
/// relative references under `/problems/` (`/problems/not-found`), and
/// `about:blank` when the status code says it all.
struct problem {
  unsigned status = 500;
  std::string title;
  std::string detail;
  std::string type = "about:blank";
  std::vector<field_error> errors = {};
};

/// The response carrying `p` as `application/problem+json`. The body is
/// always valid JSON, whatever the strings in `p` hold: they may quote a
/// request (a percent-decoded path segment, a header, a query parameter), so
/// byte sequences in them that are not UTF-8 are replaced with U+FFFD and
/// control characters are escaped.
http_response problem_response(const problem& p);

/// `text` with each maximal ill-formed UTF-8 subsequence replaced by U+FFFD
/// (as the Unicode standard recommends, §3.9); valid text is returned as is.
std::string valid_utf8(std::string_view text);

/// The standard reason phrase of `status` (`Not Found`).
std::string_view reason_phrase(unsigned status);

/// A problem whose title is the status's reason phrase.
http_response problem_response(unsigned status, std::string detail,
                               std::string type = "about:blank");

} // namespace billow::api
