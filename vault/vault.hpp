#pragma once

// The vault of a data directory: what must not be in the log in clear, kept
// beside it (docs/design.md, "The event log": credentials leave the log;
// personal data is erasable).
//
//   credentials    password hashes, by (subject, kind, event)
//   credential_store.hpp data_keys      one key per data subject (client)
//   personal_data.hpp
//
// Both are sealed with the data directory's key, `keys/seal.key` (the one that
// seals module secrets). Which fields are which:
//
//   secret    never in an event payload, never in an answer: password,
//             password_hash (and TOTP secrets, recovery codes, API tokens as
//             they come). Module secrets are sealed (`sealed:v1:`) in module
//             data and shown only as "[redacted]" without `secrets.read`.
//   personal  encrypted in payloads with the client's key, readable until the
//             client is erased: `personal_fields` below.

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

#include "vault/credential_store.hpp"
#include "vault/personal_data.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::vault {

/// The personal fields of a client (and of a client user, and of the buyer
/// block an invoice copies): encrypted in event payloads.
std::span<const std::string_view> personal_fields();

/// The credential kind of a login password.
inline constexpr std::string_view password_kind = "password";

/// The vault's two stores.
struct stores {
  std::shared_ptr<credential_store> credentials;
  std::shared_ptr<personal_data> personal;
};

/// The column families a store must be opened with for `open_vault`.
std::vector<std::string> vault_column_families();

/// Opens the vault of the data directory whose keys are in `keys_dir`, over
/// its opened event store (with `vault_column_families`). Before any reader
/// uses the store:
/// - moves the password hashes that events of older schemas hold into the
///   credential store (once; their bytes in the log stay, so the hash chain
///   does);
/// - registers the upcasters that drop those hashes from every read, and
///   that show an erased client's fields of older (plaintext) schemas as
///   "[erased]";
/// - completes an erasure that a crash interrupted (`client.erased` in the
///   log, its key not yet destroyed).
caf::expected<stores> open_vault(events::event_store& store,
                                 const std::filesystem::path& keys_dir);

/// Encrypts, in `obj`, each present string field named in `fields` as a
/// personal value of `subject`.
caf::error
seal_fields(personal_data& pd, std::string_view subject,
            boost::json::object& obj,
            std::span<const std::string_view> fields = personal_fields());

} // namespace billow::vault
