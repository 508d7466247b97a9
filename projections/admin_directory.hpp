#pragma once

// The admin directory: every admin account, rebuilt from the log's `admin.*`
// events, for login and permission checks.
//
// Events it reads (stream `admin-<uuid>`):
//   admin.created            {"email", "group", "login": true}
//   admin.password_changed   {}
// Each names, by its event id, the password hash it introduced in the
// vault's credential store (vault/credential_store.hpp); the directory keeps
// the hash in memory, for logins only. (Schema-1 `admin.created` held the
// hash itself; the vault moved those and its upcaster drops them.)
//
// Groups grant permissions (named keys such as `events.read`):
//   owner      every permission
//   read_only  every permission whose name ends in `.read`, except
//              `secrets.read` (seeing secrets in payloads)

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "events/envelope.hpp"
#include "events/subscription.hpp"
#include "events/writer.hpp"
#include "projections/position_gate.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::vault {
class credential_store;
} // namespace billow::vault

namespace billow::projections {

/// The password hash that `ev` (an account's `*.created` or
/// `*.password_changed`) introduced, from `credentials`; empty when it
/// introduced none. Shared by the admin and client directories.
std::string introduced_password(const vault::credential_store* credentials,
                                const events::envelope& ev,
                                std::string_view payload_login);

/// One admin account as the log says it is.
struct admin_account {
  std::string id;
  std::string email;
  /// Argon2id hash in libsodium's string format.
  std::string password_hash;
  std::string group;
};

/// The admin groups Billow knows.
bool is_admin_group(std::string_view group);

/// Whether `group` grants `permission`.
bool group_grants(std::string_view group, std::string_view permission);

/// Admin accounts by id and by email. Thread-safe: the HTTP front reads it
/// while a subscription applies new events.
class admin_directory {
public:
  /// Where the password hashes are (set before `catch_up`).
  void set_credentials(std::shared_ptr<const vault::credential_store> c) {
    credentials_ = std::move(c);
  }

  /// Applies one committed event (ignores types it does not know).
  void apply(const events::envelope& ev);

  std::optional<admin_account> find_by_email(std::string_view email) const;
  std::optional<admin_account> find_by_id(std::string_view id) const;
  size_t size() const;

  /// The position of the last event applied.
  uint64_t position() const noexcept {
    return applied_.position();
  }

  /// Waits until `position() >= pos` or `timeout` passed; true when reached.
  bool wait_for(uint64_t pos, std::chrono::milliseconds timeout) const {
    return applied_.wait_for(pos, timeout);
  }

  /// The applied position, to wait for it without holding a thread.
  const position_gate& gate() const noexcept {
    return applied_;
  }

  /// Reads every `admin.*` event of `store` up to its last position (through
  /// the type index, without scanning the log).
  caf::error catch_up(const events::event_store& store);

  /// The event types it reads.
  static constexpr std::string_view created = "admin.created";
  static constexpr std::string_view password_changed = "admin.password_changed";

private:
  /// `apply` without the position check (under `mtx_`).
  void apply_locked(const events::envelope& ev);

  std::shared_ptr<const vault::credential_store> credentials_;
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, admin_account> by_id_;
  std::unordered_map<std::string, std::string> id_by_email_;
  /// The last position applied (set under `mtx_`); readers wait on it.
  position_gate applied_;
};

/// Catches `dir` up from the store and answers the actor that keeps it
/// current: subscribe it (or a fan-out over it) from `dir->position() + 1`;
/// events it has applied already are skipped. Send it an exit message to
/// stop. `store` must outlive it.
caf::expected<events::subscriber_actor>
admin_directory_follower(caf::actor_system& sys,
                         const events::event_store& store,
                         const std::shared_ptr<admin_directory>& dir);

/// Normalizes an email for lookups (trimmed, lower case).
std::string normalize_email(std::string_view email);

} // namespace billow::projections
