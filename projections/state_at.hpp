#pragma once

// An aggregate's state as it was at a point of the log: the developer's
// replay. The stream's events up to a position (or a commit time) are folded
// with the same pure `apply` the live actors use, so the answer is what the
// actor would have said then.
//
// Services (`service-*`) and jobs (`job-*`) fold through their aggregates'
// `apply`; other streams (clients, products, admins, modules) fold by merging
// each event's payload fields, later ones winning.

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::projections {

/// Where to stop folding: at a log position, or at a commit time (us since
/// the epoch); both inclusive.
struct point_in_log {
  std::optional<uint64_t> position;
  std::optional<int64_t> time_us;
};

/// `{stream, version, position, state}`: the state after the stream's last
/// event at or before `at`. Errors: not_found when the stream had no event
/// by then; invalid_argument for a bad stream id.
caf::expected<boost::json::object> state_at(const events::event_store& store,
                                            const std::string& stream,
                                            point_in_log at);

} // namespace billow::projections
