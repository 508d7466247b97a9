#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace billow::events {

/// A 128-bit identifier (RFC 4122 layout) for events, causations and
/// correlations. The all-zero value is the nil UUID and means "none".
struct uuid {
  std::array<uint8_t, 16> bytes{};

  /// A random (version 4) UUID from libsodium's CSPRNG (buffered per thread).
  static uuid random();

  /// Parses the canonical 36-character text form; nullopt when malformed.
  static std::optional<uuid> parse(std::string_view text);

  /// True for the nil UUID.
  bool is_nil() const noexcept;

  friend bool operator==(const uuid&, const uuid&) = default;
  friend auto operator<=>(const uuid&, const uuid&) = default;
};

/// Hashes a UUID for unordered containers (its bytes are already random).
struct uuid_hash {
  size_t operator()(const uuid& x) const noexcept {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, x.bytes.data(), 8);
    std::memcpy(&b, x.bytes.data() + 8, 8);
    return std::hash<uint64_t>{}(a ^ (b * 0x9E3779B97F4A7C15ull));
  }
};

/// The canonical lowercase text form, e.g. `0f8e...-...`.
std::string to_string(const uuid& x);

/// Lets CAF serialize `uuid` inside messages.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, uuid& x) {
  return f(x.bytes);
}

} // namespace billow::events
