#include "api/schemas.hpp"

#include <boost/json.hpp>

namespace billow::api {

namespace json = boost::json;

namespace {

json::object string_prop(std::string_view description) {
  return {{"type", "string"}, {"description", description}};
}

json::object read_only(json::object prop) {
  prop["readOnly"] = true;
  return prop;
}

json::object write_only(json::object prop) {
  prop["writeOnly"] = true;
  return prop;
}

/// A credential: write-only, and dropped from every answer at any depth.
json::object secret(json::object prop) {
  prop["writeOnly"] = true;
  prop["x-secret"] = true;
  return prop;
}

json::object uuid_prop(std::string_view description) {
  return {{"type", "string"}, {"format", "uuid"}, {"description", description}};
}

json::object make_components() {
  json::object problem{
    {"type", "object"},
    {"required", json::array{"type", "title", "status", "detail"}},
    {"properties",
     json::object{
       {"type", json::object{{"type", "string"}}},
       {"title", json::object{{"type", "string"}}},
       {"status", json::object{{"type", "integer"}}},
       {"detail", json::object{{"type", "string"}}},
       {"errors",
        json::object{
          {"type", "array"},
          {"items",
           json::object{{"type", "object"},
                        {"properties",
                         json::object{
                           {"field", json::object{{"type", "string"}}},
                           {"message", json::object{{"type", "string"}}},
                         }}}}}},
     }},
  };
  auto personal = [](std::string_view description) {
    auto p = string_prop(description);
    p["x-personal"] = true;
    return p;
  };
  json::object client{
    {"type", "object"},
    {"description",
     "A client account. Fields marked x-personal are encrypted in the log "
     "with the client's own key and read \"[erased]\" once the client is "
     "erased."},
    {"properties",
     json::object{
       {"id", read_only(uuid_prop("The client's id"))},
       {"name", personal("Name of the person or company")},
       {"email", personal("Email address (the client-area login)")},
       {"currency",
        json::object{{"type", "string"},
                     {"pattern", "^[A-Z]{3}$"},
                     {"description", "ISO 4217 code"}}},
       {"balance",
        read_only(
          json::object{{"type", "string"},
                       {"pattern", "^-?[0-9]+(\\.[0-9]+)?$"},
                       {"description", "Money, in the client's currency"}})},
       {"login",
        read_only(json::object{{"type", "boolean"},
                               {"description",
                                "Whether the client can log into the "
                                "client area"}})},
       {"erased",
        read_only(json::object{{"type", "boolean"},
                               {"description",
                                "Whether the client's personal data has "
                                "been erased"}})},
       {"version", read_only(json::object{{"type", "integer"}})},
       {"password",
        write_only(
          string_prop("A client-area password (at least 8 characters); "
                      "never answered"))},
     }},
  };
  json::object admin{
    {"type", "object"},
    {"properties",
     json::object{
       {"id", read_only(uuid_prop("The admin's id"))},
       {"email", string_prop("Email address (the login)")},
       {"group",
        json::object{{"type", "string"},
                     {"enum", json::array{"owner", "read_only"}}}},
       {"password", write_only(string_prop("Never answered"))},
     }},
  };
  // What the credential store keeps: named here so that no answer, even one
  // that copies an old event's payload, can hold it.
  json::object credential{
    {"type", "object"},
    {"description",
     "Kept in the credential store beside the log, never in an event "
     "payload or an answer"},
    {"properties",
     json::object{
       {"password_hash", secret(string_prop("Argon2id hash"))},
       {"totp_secret", secret(string_prop("TOTP shared secret"))},
       {"recovery_codes",
        secret(json::object{{"type", "array"},
                            {"items", json::object{{"type", "string"}}}})},
       {"api_token_hash", secret(string_prop("Hash of an API token"))},
     }},
  };
  json::object erase_request{
    {"type", "object"},
    {"additionalProperties", false},
    {"required", json::array{"reason"}},
    {"properties",
     json::object{{"reason",
                   string_prop("Why the client's personal data "
                               "is erased (kept in the audit log)")}}},
  };
  json::object out{{"problem", std::move(problem)},
                   {"client", std::move(client)},
                   {"admin", std::move(admin)},
                   {"credential", std::move(credential)},
                   {"erase_request", std::move(erase_request)}};
  for (auto& [name, schema] : billing_component_schemas())
    out[name] = schema;
  return out;
}

} // namespace

const json::object& component_schemas() {
  static const json::object components = make_components();
  return components;
}

const std::vector<std::string>& secret_fields() {
  static const std::vector<std::string> fields = [] {
    std::vector<std::string> out;
    for (const auto& [name, schema] : component_schemas()) {
      const auto* props = schema.as_object().if_contains("properties");
      if (props == nullptr)
        continue;
      for (const auto& [field, prop] : props->as_object()) {
        const auto* w = prop.as_object().if_contains("x-secret");
        if (w != nullptr && w->is_bool() && w->as_bool()
            && std::find(out.begin(), out.end(), field) == out.end())
          out.emplace_back(field);
      }
    }
    return out;
  }();
  return fields;
}

json::object schema_ref(std::string_view name) {
  return {{"$ref", "#/components/schemas/" + std::string{name}}};
}

} // namespace billow::api
