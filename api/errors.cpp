#include "api/errors.hpp"

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
    case billow_errc::already_exists: return 409;
    case billow_errc::permission_denied: return 403;
    case billow_errc::unavailable: return 503;
    case billow_errc::timeout: return 504;
    default: return 500;
  }
}

http_response error_response(const caf::error& err) {
  auto detail = detail_of(err);
  auto status = status_for(err);
  if (status == 500 || detail.empty())
    detail = status == 500 ? "The server failed: " + to_string(err)
                           : to_string(err);
  return problem_response(status, std::move(detail),
                          "/problems/" + to_string(errc_of(err)));
}

} // namespace billow::api
