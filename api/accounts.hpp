#pragma once

// Admin accounts: how the first admin is made (`billow admin create`).

#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::vault {
class credential_store;
} // namespace billow::vault

namespace billow::api {

struct stopped_data_dir;

/// Appends `admin.created` for a new admin to stream `admin-<uuid>` and
/// answers the new id. The password's Argon2id hash goes to `credentials`
/// (before the event, which names it by its id); the event says only that
/// the admin has a login. Refuses (invalid_argument, nothing written) an
/// email that is not an address, a password under 8 characters, an unknown
/// group; and (already_exists) an email that another admin has.
caf::expected<std::string>
create_admin(events::event_store& store, vault::credential_store& credentials,
             std::string_view email, std::string_view password,
             std::string_view group, std::string_view actor = "system");

/// As above, on a stopped server's data directory.
caf::expected<std::string>
create_admin(stopped_data_dir& dir, std::string_view email,
             std::string_view password, std::string_view group,
             std::string_view actor = "system");

/// Whether `email` looks like an address: one `@`, a dot in the domain, no
/// spaces, at most 320 characters.
bool is_email(std::string_view email);

} // namespace billow::api
