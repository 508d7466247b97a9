#pragma once

// Authentication and authorization for the HTTP API.
//
// Passwords are stored as Argon2id hashes (libsodium `crypto_pwhash_str`).
// Bearer tokens are stateless and signed: `<claims>.<mac>`, both base64url,
// where claims are `kind|id|expires_at` and the MAC is libsodium's
// `crypto_auth` (HMAC-SHA-512-256) under a key kept in the data directory
// (`keys/token.key`, created on first start, mode 0600). A restart keeps
// tokens valid; deleting the key invalidates every token.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <caf/expected.hpp>

#include "api/router.hpp"
#include "vault/key_file.hpp"

namespace billow::projections {
class admin_directory;
class client_directory;
} // namespace billow::projections

namespace billow::api {

class idempotency_store;
class password_pool;
class read_waits;

/// Hashes `password` with Argon2id (interactive limits). Slow on purpose:
/// call it off the actor threads.
std::string hash_password(std::string_view password);

/// Whether `password` matches `hash`. Slow on purpose, like hash_password.
bool verify_password(const std::string& hash, std::string_view password);

/// Reads a 32-byte key from `path`, creating it (mode 0600) when missing.
using vault::load_or_create_key;

/// What a valid token says.
struct token_claims {
  std::string kind;
  std::string id;
  int64_t expires_at = 0; // Unix seconds
};

/// Issues and checks bearer tokens.
class token_signer {
public:
  explicit token_signer(std::string key);

  std::string issue(const token_claims& claims) const;

  /// The claims of `token` when its MAC is right and it has not expired at
  /// `now` (Unix seconds). Tokens whose MAC was right are remembered by
  /// their exact text (at most `remembered_tokens`), so the next request
  /// with the same token costs a lookup and the expiry check instead of
  /// base64 and an HMAC; any other text is checked in full.
  std::optional<token_claims> verify(std::string_view token, int64_t now) const;

  static constexpr size_t remembered_tokens = 1024;

private:
  /// The claims of `token` when its MAC is right, whatever its expiry.
  std::optional<token_claims> check(std::string_view token) const;

  struct text_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  std::string key_;
  mutable std::mutex mtx_;
  mutable std::unordered_map<std::string, token_claims, text_hash,
                             std::equal_to<>>
    checked_;
};

/// What the auth wrapper and the token route need.
struct auth_context {
  std::shared_ptr<const token_signer> signer;
  std::shared_ptr<const projections::admin_directory> admins;
  /// Clients that can log into the client area.
  std::shared_ptr<const projections::client_directory> clients;
  /// Runs slow work (store reads, module calls) off the actor threads.
  std::function<void(std::function<void()>)> run_blocking;
  /// Runs Argon2id work, bounded (none: on `run_blocking`, unbounded).
  std::shared_ptr<password_pool> passwords;
  /// Waits for read models without holding a thread (none: a login does
  /// not wait for an account created just before).
  std::shared_ptr<read_waits> waits;
  /// Token lifetime.
  std::chrono::seconds token_ttl{12 * 3600};
  /// The log's durable head, so a login can wait for the directories to
  /// apply an account created just before (none: no waiting).
  std::function<uint64_t()> log_head;
  /// Keeps answers to POSTs with `Idempotency-Key` (none: keys pass
  /// through to the handlers only).
  std::shared_ptr<idempotency_store> idempotency;
};

/// Runs `fn` (Argon2id work for `ctx`) on the password pool; when that is
/// full answers `ctx` at once instead: 429 when this address has its
/// share queued, 503 when the pool has, both with `Retry-After` and the
/// type `/problems/overloaded`. True when `fn` was queued.
bool run_password_work(const auth_context& auth, const request_context& ctx,
                       std::function<void()> fn);

/// Wraps `inner` so it runs only for an admin whose group grants
/// `permission`: 401 without a valid bearer token, 403 without the
/// permission (both problem+json). `ctx.caller` is set for `inner`.
route_handler require_admin(std::shared_ptr<const auth_context> auth,
                            std::string permission, route_handler inner);

/// Wraps `inner` so it runs only for a client with a valid client token
/// (kind `client`): 401 otherwise, admin tokens included. `ctx.caller` is
/// set for `inner` (kind `client`, the client's id).
route_handler require_client(std::shared_ptr<const auth_context> auth,
                             route_handler inner);

/// Adds `POST /api/v1/auth/admin/token` and `POST /api/v1/auth/client/token`:
/// `{email, password}` -> `{token, expires_at}`; 401 on bad credentials,
/// 400/422 on a malformed body. The two kinds of token are not
/// interchangeable.
void add_auth_routes(route_table& routes,
                     const std::shared_ptr<const auth_context>& auth);

} // namespace billow::api
