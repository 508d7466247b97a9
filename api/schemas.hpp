#pragma once

// The named components of the OpenAPI document (`components.schemas`): the
// shapes answers and request bodies are made of. Each route's documentation
// refers to them by name (`route_doc::request_schema`, `response_schema`).
//
// A property marked `writeOnly` is accepted in requests and never answered
// (a password: its hash goes to the credential store, never into an event,
// so no read model holds it). One marked `x-secret` as well is a credential
// (the `credential` component: password_hash, totp_secret, ...): the answer
// serializer (answers.hpp) drops every such field from every JSON answer, at
// any depth, whichever route made it, so a new route cannot leak one by
// forgetting a line (nor by copying an old event's payload). Module secrets
// are the other kind: sealed in module data (`sealed:v1:`) and redacted for
// callers without `secrets.read` (redaction.hpp).

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace billow::api {

/// Every component, by name.
const boost::json::object& component_schemas();

/// The names of every `x-secret` property of any component: the fields no
/// answer holds.
const std::vector<std::string>& secret_fields();

/// `{"$ref": "#/components/schemas/<name>"}`.
boost::json::object schema_ref(std::string_view name);

/// The components of the billing routes (api/billing_schemas.cpp), part of
/// `component_schemas`.
boost::json::object billing_component_schemas();

} // namespace billow::api
