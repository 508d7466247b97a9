#include "api/errors.hpp"

#include <spdlog/spdlog.h>

#include "api/problem.hpp"
#include "events/errc.hpp"

namespace billow::api {

unsigned status_for(const caf::error& err) {
  switch (errc_of(err)) {
    case billow_errc::not_found: return 404;
    case billow_errc::invalid_argument:
    case billow_errc::module_failure: return 422;
    case billow_errc::wrong_expected_version: return 412;
    case billow_errc::invalid_transition:
    case billow_errc::insufficient_funds:
    case billow_errc::already_exists: return 409;
    case billow_errc::permission_denied: return 403;
    case billow_errc::unavailable:
    case billow_errc::storage_unavailable:
    case billow_errc::storage_error: return 503;
    case billow_errc::timeout: return 504;
    case billow_errc::storage_full: return 507;
    default: return 500;
  }
}

namespace {

http_response with_retry_after(http_response resp) {
  resp.headers.emplace_back("Retry-After",
                            std::to_string(storage_retry_after_seconds));
  return resp;
}

} // namespace

http_response error_response(const caf::error& err) {
  switch (errc_of(err)) {
    case billow_errc::storage_full:
      // The store logs the fault (with its file) once, not once a request.
      return problem_response(
        507,
        "The server's data volume is full, so this request was not stored. "
        "Writes resume by themselves once an operator frees space on the "
        "data volume; reads keep working. Retry later.",
        "/problems/storage_full");
    case billow_errc::storage_unavailable:
      return with_retry_after(problem_response(
        503,
        "The server's storage cannot take writes right now, so this request "
        "may not have been stored. Retry it later with the same "
        "Idempotency-Key: a retry never stores it twice.",
        "/problems/storage_unavailable"));
    case billow_errc::storage_error:
      spdlog::error("storage: {}", to_string(err));
      return with_retry_after(problem_response(
        503,
        "The server's storage failed to carry out this request; the server "
        "log has the details. Retry later.",
        "/problems/storage_unavailable"));
    default: break;
  }
  auto status = status_for(err);
  if (status == 500) {
    spdlog::error("answering 500: {}", to_string(err));
    return problem_response(500,
                            "The server failed (" + to_string(errc_of(err))
                              + "); the server log has the details.",
                            "/problems/" + to_string(errc_of(err)));
  }
  auto detail = detail_of(err);
  if (detail.empty())
    detail = to_string(err);
  auto resp = problem_response(status, std::move(detail),
                               "/problems/" + to_string(errc_of(err)));
  if (status == 503)
    return with_retry_after(std::move(resp));
  return resp;
}

} // namespace billow::api
