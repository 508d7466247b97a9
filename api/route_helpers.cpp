#include "api/route_helpers.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <sodium.h>

#include "api/problem.hpp"
#include "api/read_waits.hpp"
#include "projections/admin_directory.hpp"
#include "projections/provisioning.hpp"

namespace billow::api {

namespace json = boost::json;

route_handler guarded(const std::shared_ptr<const auth_context>& auth,
                      const std::string& permission, route_handler inner) {
  if (permission.empty())
    throw std::logic_error("a route of a family's table needs a permission");
  if (permission == client_area)
    return require_client(auth, std::move(inner));
  return require_admin(auth, permission, std::move(inner));
}

// -- parsing ------------------------------------------------------------------

std::optional<events::uuid> id_param(const request_context& ctx,
                                     const char* name) {
  auto id = events::uuid::parse(ctx.params.at(name));
  if (!id)
    ctx.reply(problem_response(
      404, "No resource with id " + ctx.params.at(name) + "."));
  return id;
}

field_checker query_checker() {
  static const json::object no_fields;
  return field_checker{no_fields};
}

void uint_param(const request_context& ctx, std::string_view name,
                uint64_t& out, field_checker& check) {
  auto text = ctx.request().query_param(name);
  if (!text)
    return;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(),
                                   out);
  if (text->empty() || ec != std::errc{} || ptr != text->data() + text->size())
    check.fail(std::string{name}, "must be a non-negative integer");
}

std::string uuid_param(const request_context& ctx, std::string_view name,
                       field_checker& check) {
  auto text = ctx.request().query_param(name);
  if (!text)
    return {};
  auto id = events::uuid::parse(*text);
  if (!id) {
    check.fail(std::string{name}, "must be a UUID");
    return {};
  }
  return events::to_string(*id);
}

std::optional<uint64_t> min_position_param(const request_context& ctx) {
  auto check = query_checker();
  uint64_t min_position = 0;
  uint_param(ctx, "min_position", min_position, check);
  if (!check.ok()) {
    ctx.reply(check.problem());
    return std::nullopt;
  }
  return min_position;
}

std::optional<one_read> parse_one_read(const request_context& ctx) {
  auto id = id_param(ctx);
  if (!id)
    return std::nullopt;
  auto min_position = min_position_param(ctx);
  if (!min_position)
    return std::nullopt;
  return one_read{*id, *min_position};
}

namespace {

constexpr int cursor_variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

/// An opaque cursor: the list position of the last item sent, base64url.
std::string encode_cursor(uint64_t after) {
  unsigned char raw[8];
  for (int i = 7; i >= 0; --i, after >>= 8)
    raw[i] = static_cast<unsigned char>(after & 0xff);
  char out[sodium_base64_ENCODED_LEN(8, cursor_variant)];
  sodium_bin2base64(out, sizeof(out), raw, sizeof(raw), cursor_variant);
  return out;
}

std::optional<uint64_t> decode_cursor(std::string_view text) {
  unsigned char raw[8];
  size_t len = 0;
  const char* end = nullptr;
  if (text.empty() || text.size() > 16
      || sodium_base642bin(raw, sizeof(raw), text.data(), text.size(), nullptr,
                           &len, &end, cursor_variant)
        != 0
      || len != sizeof(raw) || end != text.data() + text.size())
    return std::nullopt;
  uint64_t out = 0;
  for (auto b : raw)
    out = (out << 8) | b;
  return out;
}

} // namespace

list_params parse_list_params(const request_context& ctx,
                              field_checker& check) {
  list_params p;
  uint64_t limit = p.limit;
  uint_param(ctx, "limit", limit, check);
  if (limit == 0 || limit > 1000)
    check.fail("limit", "must be between 1 and 1000");
  p.limit = static_cast<size_t>(limit);
  if (auto cursor = ctx.request().query_param("cursor")) {
    if (auto after = decode_cursor(*cursor))
      p.after = *after;
    else
      check.fail("cursor", "must be a next_cursor this list answered");
  }
  uint_param(ctx, "min_position", p.min_position, check);
  return p;
}

std::vector<std::string> list_query(std::vector<std::string> more) {
  for (const char* paging : {"limit", "cursor", "min_position"})
    more.emplace_back(paging);
  return more;
}

std::optional<http_response> parse_optional_object_body(const http_request& req,
                                                        json::object& out) {
  if (req.body.empty())
    return std::nullopt;
  return parse_object_body(req, out);
}

std::string idempotency_key(const request_context& ctx) {
  auto key = ctx.request().header("Idempotency-Key");
  return key ? std::string{key->substr(0, 200)} : std::string{};
}

events::uuid event_id_for(const request_context& ctx,
                          const std::string& stream_kind) {
  auto key = idempotency_key(ctx);
  if (key.empty())
    return events::uuid::random();
  auto seed = ctx.caller->actor() + "|" + stream_kind + "|" + key;
  unsigned char hash[16];
  crypto_generichash(hash, sizeof(hash),
                     reinterpret_cast<const unsigned char*>(seed.data()),
                     seed.size(), nullptr, 0);
  events::uuid out;
  std::copy(std::begin(hash), std::end(hash), out.bytes.begin());
  out.bytes[6] = static_cast<uint8_t>((out.bytes[6] & 0x0f) | 0x50); // v5-like
  out.bytes[8] = static_cast<uint8_t>((out.bytes[8] & 0x3f) | 0x80);
  return out;
}

std::optional<uint64_t> if_match_version(const request_context& ctx,
                                         field_checker& check,
                                         std::string_view what) {
  auto if_match = ctx.request().header("If-Match");
  if (!if_match)
    return std::nullopt;
  std::string_view v = *if_match;
  if (!v.empty() && v.front() == '"' && v.back() == '"' && v.size() >= 2)
    v = v.substr(1, v.size() - 2);
  uint64_t version = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
  if (ec != std::errc{} || ptr != v.data() + v.size()) {
    check.fail("If-Match",
               fmt::format("must be the {}'s version number", what));
    return std::nullopt;
  }
  return version;
}

// -- asking -------------------------------------------------------------------

void append_event(
  const request_context& ctx, const events::writer_actor& writer,
  std::string stream, events::expected_version expected, events::new_event ev,
  std::function<void(const events::append_result&)> on_appended) {
  std::vector<events::new_event> batch;
  batch.push_back(std::move(ev));
  ask_for_anywhere<events::append_result>(
    ctx, writer,
    [on_appended = std::move(on_appended)](const request_context&,
                                           const events::append_result& res) {
      on_appended(res);
    },
    events::append_atom::value, std::move(stream), expected, std::move(batch));
}

// -- reading ------------------------------------------------------------------

std::shared_ptr<const projections::position_gate>
gate_of(const std::shared_ptr<const projections::projection>& proj) {
  return {proj, &proj->gate()};
}

http_response not_reached(const projections::projection& proj,
                          uint64_t min_position,
                          std::chrono::milliseconds wait) {
  return problem_response(
    504,
    fmt::format("The {} read model has not reached log position {} "
                "within {} ms (it is at {}); retry later.",
                proj.name(), min_position, wait.count(), proj.position()));
}

void when_reached(const request_context& ctx, const auth_context& auth,
                  const std::shared_ptr<const projections::projection>& proj,
                  uint64_t min_position, std::chrono::milliseconds wait,
                  std::function<void()> answer) {
  auth.waits->when_reached(gate_of(proj), min_position, wait, std::move(answer),
                           [ctx, proj, min_position, wait] {
                             ctx.reply(not_reached(*proj, min_position, wait));
                           });
}

// -- answering ----------------------------------------------------------------

void add_position(http_response& resp, uint64_t position) {
  resp.headers.emplace_back("X-Billow-Position", std::to_string(position));
}

http_response json_at(unsigned status, const json::value& body,
                      uint64_t position) {
  auto resp = json_response(status, json::serialize(body));
  add_position(resp, position);
  return resp;
}

http_response list_response(json::array items,
                            std::optional<uint64_t> next_after,
                            uint64_t position) {
  json::object body{{"items", std::move(items)},
                    {"next_cursor",
                     next_after ? json::value(encode_cursor(*next_after))
                                : json::value(nullptr)}};
  return json_at(200, body, position);
}

bool shows_secrets(const request_context& ctx) {
  return ctx.caller && ctx.caller->kind == "admin"
    && projections::group_grants(ctx.caller->group, "secrets.read");
}

json::value or_null(std::string_view text) {
  if (text.empty())
    return nullptr;
  return json::string{text};
}

std::string string_field(const json::object& obj, std::string_view key) {
  if (auto* v = obj.if_contains(key); v && v->is_string())
    return std::string{v->as_string()};
  return {};
}

json::object entity_json(const projections::entity_row& row) {
  json::object out = row.fields;
  out["id"] = row.id;
  out["version"] = row.version;
  out["created_at"] = rfc3339(row.created_us);
  out["updated_at"] = rfc3339(row.updated_us);
  return out;
}

} // namespace billow::api
