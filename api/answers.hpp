#pragma once

// The one serializer every answer passes through (`request_context::reply`,
// and each event of the live stream):
//
//   1. secrets out: every field that a component schema marks `writeOnly`
//      (schemas.hpp: password, password_hash, totp_secret, ...) is dropped
//      from a JSON answer, at any depth; a route cannot leak one by
//      forgetting a line.
//   2. (the idempotency layer keeps the answer here: it keeps no secret, and
//      personal values stay encrypted in it)
//   3. personal values in: `pd:v1:` values are decrypted with their client's
//      key, or read "[erased]" once that client is erased.
//
// Only JSON answers are touched, and only those whose text holds a secret
// field's name or a personal value (the rest are sent as they are, unparsed).

#include <memory>
#include <string>

#include <boost/json/value.hpp>

#include "api/http_types.hpp"

namespace billow::vault {
class personal_data;
} // namespace billow::vault

namespace billow::api {

/// Step 3 (and both steps for a value), with the vault's personal data.
class answer_filter {
public:
  /// `personal` may be null (no vault: nothing to decrypt).
  explicit answer_filter(std::shared_ptr<const vault::personal_data> personal);

  /// Step 3 on `resp`.
  void reveal(http_response& resp) const;

  /// Steps 1 and 3 on a JSON value (an event of the live stream).
  void apply(boost::json::value& v) const;

private:
  std::shared_ptr<const vault::personal_data> personal_;
};

/// Step 1: drops every secret field (schemas.hpp) from `v`, at any depth.
void drop_secret_fields(boost::json::value& v);

/// Step 1 on `resp` (a JSON or problem+json answer; others are left alone).
void drop_secret_fields(http_response& resp);

} // namespace billow::api
