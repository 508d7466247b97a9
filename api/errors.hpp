#pragma once

// From Billow's typed errors to HTTP answers.

#include <caf/error.hpp>

#include "api/http_types.hpp"

namespace billow::api {

/// Seconds a client is told to wait (`Retry-After`) before retrying a write
/// that the storage could not take.
inline constexpr unsigned storage_retry_after_seconds = 5;

/// The HTTP status for an error: not_found 404, invalid_argument and
/// module_failure 422, wrong_expected_version 412, invalid_transition and
/// already_exists 409, permission_denied 403, unavailable,
/// storage_unavailable and storage_error 503, timeout 504, storage_full 507,
/// everything else 500.
unsigned status_for(const caf::error& err);

/// The problem+json answer for `err`, its detail as the problem's detail.
/// Storage faults and server failures answer a fixed detail meant for a
/// person (type `/problems/storage_full`, `/problems/storage_unavailable`,
/// `/problems/internal`), never the error's own text, which can name files
/// of the data directory: that goes to the server log. 503s carry
/// `Retry-After`.
http_response error_response(const caf::error& err);

} // namespace billow::api
