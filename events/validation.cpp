#include "events/validation.hpp"

#include <simdjson.h>

#include "events/envelope.hpp"
#include "events/errc.hpp"

namespace billow::events {

namespace {

bool is_stream_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
    || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
}

bool is_type_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

caf::error invalid(std::string msg) {
  return make_error(billow_errc::invalid_argument, std::move(msg));
}

} // namespace

caf::error validate_stream_id(std::string_view stream) {
  if (stream.empty())
    return invalid("stream id is empty");
  if (stream.size() > max_stream_id_bytes)
    return invalid("stream id is longer than 256 bytes");
  for (auto c : stream)
    if (!is_stream_char(c))
      return invalid("stream id has a character outside [A-Za-z0-9._:-]");
  return caf::none;
}

bool is_json_object(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  auto doc = parser.parse(json.data(), json.size(), true);
  if (doc.error())
    return false;
  return doc.value_unsafe().type() == simdjson::dom::element_type::OBJECT;
}

caf::error validate_new_event(const new_event& x) {
  if (x.event_id.is_nil())
    return invalid("event id is nil");
  if (x.type.empty() || x.type.size() > max_name_bytes)
    return invalid("event type must be 1..256 bytes");
  bool segment_empty = true;
  for (auto c : x.type) {
    if (c == '.') {
      if (segment_empty)
        return invalid("event type '" + x.type + "' has an empty segment");
      segment_empty = true;
    } else if (is_type_char(c)) {
      segment_empty = false;
    } else {
      return invalid("event type '" + x.type
                     + "' has a character outside [a-z0-9_.]");
    }
  }
  if (segment_empty)
    return invalid("event type '" + x.type + "' ends with an empty segment");
  if (x.actor.empty() || x.actor.size() > max_name_bytes)
    return invalid("actor must be 1..256 bytes");
  if (!is_json_object(x.payload))
    return invalid("payload of event " + to_string(x.event_id)
                   + " is not a JSON object");
  return caf::none;
}

} // namespace billow::events
