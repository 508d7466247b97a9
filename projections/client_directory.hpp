#pragma once

// The client directory: every client that can log into the client area,
// rebuilt from the log's `client.created` events.
//
// Events it reads (stream `client-<uuid>`):
//   client.created            {"name", "email", "currency", "login": bool}
//   client.password_changed   {}
//   client.erased             {"reason"}
//
// Only clients created with a password can log in; their emails are unique
// among such clients (the create route checks). The password hash is in the
// vault's credential store, named by the event's id (as for admins); name
// and email are personal values (vault/personal_data.hpp), decrypted here.
// An erased client keeps no login and reads "[erased]".

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

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
class personal_data;
} // namespace billow::vault

namespace billow::projections {

/// One client as the log says it is.
struct client_account {
  std::string id;
  std::string email;
  std::string name;
  /// Argon2id hash in libsodium's string format; empty: no login.
  std::string password_hash;
  bool erased = false;
};

/// Clients by id, and those with a login by email. Thread-safe: the HTTP
/// front reads it while a subscription applies new events.
class client_directory {
public:
  /// Where the password hashes and the personal data keys are (set before
  /// `catch_up`; without them, names and emails stay as the log has them).
  void set_vault(std::shared_ptr<const vault::credential_store> credentials,
                 std::shared_ptr<const vault::personal_data> personal) {
    credentials_ = std::move(credentials);
    personal_ = std::move(personal);
  }

  /// Applies one committed event (ignores types it does not know).
  void apply(const events::envelope& ev);

  /// The client with a login under `email` (normalized), if any.
  std::optional<client_account> find_login(std::string_view email) const;
  std::optional<client_account> find_by_id(std::string_view id) const;
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

  /// Reads every `client.*` event it knows of `store` up to its last
  /// position (through the type index).
  caf::error catch_up(const events::event_store& store);

  /// The event types it reads.
  static constexpr std::string_view created = "client.created";
  static constexpr std::string_view password_changed
    = "client.password_changed";
  static constexpr std::string_view erased = "client.erased";

private:
  /// `apply` without the position check (under `mtx_`).
  void apply_locked(const events::envelope& ev);

  std::shared_ptr<const vault::credential_store> credentials_;
  std::shared_ptr<const vault::personal_data> personal_;
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, client_account> by_id_;
  std::unordered_map<std::string, std::string> login_by_email_;
  /// The last position applied (set under `mtx_`); readers wait on it.
  position_gate applied_;
};

/// Catches `dir` up from the store and answers the actor that keeps it
/// current: subscribe it (or a fan-out over it) from `dir->position() + 1`;
/// events it has applied already are skipped. Send it an exit message to
/// stop. `store` must outlive it.
caf::expected<events::subscriber_actor>
client_directory_follower(caf::actor_system& sys,
                          const events::event_store& store,
                          const std::shared_ptr<client_directory>& dir);

} // namespace billow::projections
