#include "actors/aggregate.hpp"

#include <sodium.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace billow::actors {

events::uuid derive_uuid(std::string_view a, std::string_view b, uint64_t n) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 16);
  auto feed = [&](std::string_view s) {
    uint64_t len = s.size();
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(&len),
                              sizeof(len));
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(s.data()),
                              s.size());
  };
  feed(a);
  feed(b);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(&n),
                            sizeof(n));
  events::uuid id;
  crypto_generichash_final(&st, id.bytes.data(), id.bytes.size());
  id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0F) | 0x80); // v8
  id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3F) | 0x80); // RFC 4122
  return id;
}

std::string json_string(const boost::json::object& obj, std::string_view key) {
  if (auto* v = obj.if_contains(key); v && v->is_string())
    return std::string{v->get_string()};
  return {};
}

uint64_t json_uint(const boost::json::object& obj, std::string_view key,
                   uint64_t fallback) {
  if (auto* v = obj.if_contains(key)) {
    if (v->is_uint64())
      return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0)
      return static_cast<uint64_t>(v->get_int64());
  }
  return fallback;
}

events::uuid json_uuid(const boost::json::object& obj, std::string_view key) {
  // Parsed from the value's own text: no string copy per field.
  auto* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string() || v->get_string().empty())
    return {};
  const auto& text = v->get_string();
  return events::uuid::parse({text.data(), text.size()})
    .value_or(events::uuid{});
}

boost::json::object parse_object(std::string_view text) {
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object())
    return {};
  return std::move(v.get_object());
}

std::string encode_snapshot(
  boost::json::object state,
  const std::vector<std::pair<std::string, command_result>>& keys) {
  boost::json::object obj;
  obj["state"] = std::move(state);
  boost::json::array arr;
  for (auto& [k, r] : keys) {
    boost::json::object e;
    e["k"] = k;
    e["v"] = r.version;
    if (!r.job_id.is_nil())
      e["j"] = to_string(r.job_id);
    arr.emplace_back(std::move(e));
  }
  obj["keys"] = std::move(arr);
  return boost::json::serialize(obj);
}

std::vector<events::new_event>
to_new_events(const std::string& stream, const std::string& key,
              const std::string& actor, std::vector<domain_event>& evs) {
  std::vector<events::new_event> out;
  out.reserve(evs.size());
  if (!key.empty() && !evs.empty())
    evs.back().payload["idempotency_key"] = key;
  for (size_t i = 0; i < evs.size(); ++i) {
    events::new_event x;
    if (!evs[i].event_id.is_nil())
      x.event_id = evs[i].event_id;
    else
      x.event_id = key.empty() ? events::uuid::random()
                               : derive_uuid(stream, key, i);
    x.type = evs[i].type;
    x.schema = evs[i].schema;
    x.actor = actor.empty() ? "system" : actor;
    x.payload = boost::json::serialize(evs[i].payload);
    out.push_back(std::move(x));
  }
  return out;
}

} // namespace billow::actors
