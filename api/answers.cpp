#include "api/answers.hpp"

#include <boost/json.hpp>

#include "api/schemas.hpp"
#include "vault/personal_data.hpp"

namespace billow::api {

namespace {

bool is_json(const http_response& resp) {
  return !resp.on_stream
    && (resp.content_type.starts_with("application/json")
        || resp.content_type.starts_with("application/problem+json"));
}

/// Whether `text` may hold a secret field: a quoted name of one (cheap
/// enough to run on every answer; a false alarm only costs a parse).
bool may_hold_secret(std::string_view text) {
  for (const auto& name : secret_fields()) {
    auto at = text.find(name);
    while (at != std::string_view::npos) {
      if (at > 0 && text[at - 1] == '"' && at + name.size() < text.size()
          && text[at + name.size()] == '"')
        return true;
      at = text.find(name, at + 1);
    }
  }
  return false;
}

bool is_secret(std::string_view key) {
  for (const auto& name : secret_fields())
    if (key == name)
      return true;
  return false;
}

} // namespace

void drop_secret_fields(boost::json::value& v) {
  if (auto* obj = v.if_object()) {
    for (auto it = obj->begin(); it != obj->end();) {
      if (is_secret(it->key())) {
        it = obj->erase(it);
        continue;
      }
      drop_secret_fields(it->value());
      ++it;
    }
  } else if (auto* arr = v.if_array()) {
    for (auto& x : *arr)
      drop_secret_fields(x);
  }
}

answer_filter::answer_filter(
  std::shared_ptr<const vault::personal_data> personal)
  : personal_(std::move(personal)) {}

void drop_secret_fields(http_response& resp) {
  if (!is_json(resp) || !may_hold_secret(resp.body))
    return;
  boost::system::error_code ec;
  auto doc = boost::json::parse(resp.body, ec);
  if (ec)
    return; // not JSON after all: nothing a field name could be in
  drop_secret_fields(doc);
  resp.body = boost::json::serialize(doc);
}

void answer_filter::reveal(http_response& resp) const {
  if (personal_ && is_json(resp))
    personal_->reveal_text(resp.body);
}

void answer_filter::apply(boost::json::value& v) const {
  drop_secret_fields(v);
  if (personal_)
    personal_->reveal_all(v);
}

} // namespace billow::api
