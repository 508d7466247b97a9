#pragma once

// The credential store: password hashes (and, as they come, TOTP secrets,
// recovery codes and API tokens) beside the log instead of in it.
//
// Column family `credentials` of the event store's database:
//
//   key                                                   value
//   +---------+----+------+----+-------------------+     +-------------------+
//   | subject | \0 | kind | \0 | event_id 16 bytes | --> | sealed:v1:...     |
//   +---------+----+------+----+-------------------+     +-------------------+
//
// `subject` is the account's stream (`admin-<uuid>`, `client-<uuid>`),
// `kind` what the credential is (`password`), and `event_id` the event that
// introduced it (`admin.created`, `admin.password_changed`): a directory that
// applies that event reads the credential it names. A credential is written
// before its event; one whose event never committed (a crash between the two)
// is named by no event and so never used. The value is sealed with the data
// directory's key (modules::sdk::secret_box), so the database's bytes hold no
// hash in clear.

#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "events/uuid.hpp"
#include "modules/sdk/secret_box.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::vault {

/// The column family the credential store keeps its records in.
inline constexpr std::string_view credentials_family = "credentials";

/// Credentials by (subject, kind, event). Thread-safe (RocksDB is).
class credential_store {
public:
  /// `store` must have been opened with `credentials_family` and outlive
  /// this.
  credential_store(events::event_store& store, modules::sdk::secret_box box);

  /// Keeps `secret` as the `kind` credential of `subject` introduced by
  /// `event_id`. Written to the WAL without an fsync of its own: the
  /// (synced) append of the event that names it comes after it in the same
  /// WAL, so a recovered event always finds its credential.
  caf::error put(std::string_view subject, std::string_view kind,
                 const events::uuid& event_id, std::string_view secret);

  /// As `put`, only when no credential is kept for that key (migration).
  caf::error put_if_absent(std::string_view subject, std::string_view kind,
                           const events::uuid& event_id,
                           std::string_view secret);

  /// The credential introduced by `event_id`, or `not_found`.
  caf::expected<std::string> get(std::string_view subject,
                                 std::string_view kind,
                                 const events::uuid& event_id) const;

  /// Deletes every credential of `subject` (a client's erasure), durably.
  caf::error erase_subject(std::string_view subject);

private:
  events::event_store* store_;
  modules::sdk::secret_box box_;
};

} // namespace billow::vault
