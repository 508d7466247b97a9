#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>
#include <caf/expected.hpp>

namespace billow::modules::sdk {

/// Whether a configuration or payload key names a secret (`password`,
/// `passwd`, `secret`, `api_key`, `token`, `private_key` anywhere in it,
/// whatever the case and separators): such values are sealed before they
/// are recorded and redacted when shown.
bool looks_secret(std::string_view key);

/// Replaces string and number values under secret-looking keys with
/// `[redacted]`, at any depth (module log context before it is written).
void redact_secrets(boost::json::value& v);

/// Seals secrets (passwords, API keys) so they never sit in an event, a
/// service's data or a log line in clear.
///
/// A sealed value is text: `sealed:v1:` followed by the base64 of a fresh
/// random nonce and libsodium's `crypto_secretbox` (XSalsa20-Poly1305) of the
/// secret. Opening it needs the same 32-byte key; a wrong key or a tampered
/// value is refused, never decrypted to garbage.
class secret_box {
public:
  /// Key length in bytes (`crypto_secretbox_KEYBYTES`).
  static constexpr size_t key_size = 32;

  /// The prefix every sealed value starts with.
  static constexpr std::string_view prefix = "sealed:v1:";

  /// Makes a box from a configured key: 64 hex digits or the base64 of 32
  /// bytes. Anything else is `billow_errc::invalid_argument`.
  static caf::expected<secret_box> from_config(std::string_view key_text);

  /// A fresh random key as 64 hex digits, for `billow` set-up and tests.
  static std::string generate_key_hex();

  /// Makes a box from raw key bytes.
  explicit secret_box(const std::array<uint8_t, key_size>& key);

  ~secret_box();
  secret_box(const secret_box&);
  secret_box& operator=(const secret_box&);

  /// Seals `plaintext`; every call uses a new nonce.
  std::string seal(std::string_view plaintext) const;

  /// Opens a value made by `seal` with the same key. A value without the
  /// prefix, with bad base64, or that fails authentication (wrong key,
  /// tampering) is `billow_errc::invalid_argument`.
  caf::expected<std::string> unseal(std::string_view sealed) const;

  /// Whether `value` looks like a sealed value (has the prefix).
  static bool is_sealed(std::string_view value) noexcept;

private:
  std::array<uint8_t, key_size> key_;
};

} // namespace billow::modules::sdk
