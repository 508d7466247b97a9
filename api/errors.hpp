#pragma once

// From Billow's typed errors to HTTP answers.

#include <caf/error.hpp>

#include "api/http_types.hpp"

namespace billow::api {

/// The HTTP status for an error: not_found 404, invalid_argument and
/// module_failure 422, wrong_expected_version 412, invalid_transition and
/// already_exists 409, permission_denied 403, unavailable 503, timeout 504,
/// everything else 500.
unsigned status_for(const caf::error& err);

/// The problem+json answer for `err`, its detail as the problem's detail.
http_response error_response(const caf::error& err);

} // namespace billow::api
