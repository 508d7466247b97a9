#pragma once

// The client directory: every client that can log into the client area,
// rebuilt from the log's `client.created` events.
//
// Events it reads (stream `client-<uuid>`):
//   client.created  {"name", "email", "currency", "password_hash"?}
//
// Only clients created with a password (an Argon2id hash) can log in; their
// emails are unique among such clients (the create route checks).

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

namespace billow::projections {

/// One client as the log says it is.
struct client_account {
  std::string id;
  std::string email;
  std::string name;
  /// Argon2id hash in libsodium's string format; empty: no login.
  std::string password_hash;
};

/// Clients by id, and those with a login by email. Thread-safe: the HTTP
/// front reads it while a subscription applies new events.
class client_directory {
public:
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

  /// Reads every `client.created` event of `store` up to its last position
  /// (through the type index).
  caf::error catch_up(const events::event_store& store);

private:
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
