#pragma once

// The audit and replay routes: the log as operators and developers read it.
//
//   GET /api/v1/admin/events        filtered, paginated envelopes (events.read)
//   GET /api/v1/admin/streams/{s}   one stream's events (events.read)
//   GET /api/v1/admin/audit/verify  walk the hash chain (audit.read)

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "api/auth.hpp"
#include "api/router.hpp"
#include "projections/state_at.hpp"

namespace billow::events {
class event_store;
struct envelope;
} // namespace billow::events

namespace boost::json {
class object;
} // namespace boost::json

namespace billow::api {

/// Parses `?at=` / `--at`: a log position (digits) or an RFC 3339 time.
std::optional<projections::point_in_log>
parse_point_in_log(std::string_view text);

/// An envelope as the API shows it (`time` RFC 3339, hashes in hex, the
/// payload as a JSON object).
boost::json::object envelope_json(const events::envelope& ev);

/// The same, with every payload value under a secret-looking key (password,
/// secret, api_key, token) shown as "[redacted]" unless `show_secrets`
/// (the caller holds `secrets.read`).
boost::json::object envelope_json(const events::envelope& ev,
                                  bool show_secrets);

void add_audit_routes(route_table& routes,
                      const std::shared_ptr<const auth_context>& auth,
                      events::event_store& store);

} // namespace billow::api
