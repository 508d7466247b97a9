#pragma once

#include <string_view>

#include <caf/error.hpp>

#include "events/fwd.hpp"

namespace billow::events {

/// Longest accepted stream id, in bytes.
constexpr size_t max_stream_id_bytes = 256;

/// Longest accepted type or actor, in bytes.
constexpr size_t max_name_bytes = 256;

/// Checks a stream id: 1..256 bytes of `[A-Za-z0-9._:-]`. Returns
/// `invalid_argument` naming the problem otherwise.
caf::error validate_stream_id(std::string_view stream);

/// True when `json` is one well-formed JSON object (parsed with simdjson).
bool is_json_object(std::string_view json);

/// Checks one event before it is appended: dotted type of
/// `[a-z0-9_]` segments, a non-empty actor, non-nil event id, payload a
/// JSON object.
caf::error validate_new_event(const new_event& x);

} // namespace billow::events
