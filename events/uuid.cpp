#include "events/uuid.hpp"

#include <array>
#include <atomic>
#include <cstring>

#include <pthread.h>

#include <sodium.h>

namespace billow::events {

namespace {

/// Each byte's value as a hex digit, -1 for a byte that is none: one load a
/// digit instead of three range tests (ids are parsed on every event a
/// projection folds).
constexpr std::array<int8_t, 256> hex_values = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int c = '0'; c <= '9'; ++c)
    t[static_cast<size_t>(c)] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c)
    t[static_cast<size_t>(c)] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c)
    t[static_cast<size_t>(c)] = static_cast<int8_t>(c - 'A' + 10);
  return t;
}();

int hex_value(char c) {
  return hex_values[static_cast<unsigned char>(c)];
}

} // namespace

uuid uuid::random() {
  static const bool ready = sodium_init() >= 0;
  if (!ready)
    std::abort(); // libsodium cannot run at all: no safe way on
  // One CSPRNG call per 256 ids instead of one system call per id. A forked
  // child must not reuse its parent's pool: fork bumps the generation.
  static std::atomic<uint64_t> generation{0};
  static const bool registered = [] {
    ::pthread_atfork(nullptr, nullptr, [] {
      ++generation;
    });
    return true;
  }();
  (void)registered;
  thread_local std::array<uint8_t, 4096> pool;
  thread_local size_t used = pool.size();
  thread_local uint64_t pool_generation = 0;
  if (used == pool.size() || pool_generation != generation.load()) {
    pool_generation = generation.load();
    randombytes_buf(pool.data(), pool.size());
    used = 0;
  }
  uuid result;
  std::memcpy(result.bytes.data(), pool.data() + used, result.bytes.size());
  sodium_memzero(pool.data() + used, result.bytes.size());
  used += result.bytes.size();
  result.bytes[6] = static_cast<uint8_t>((result.bytes[6] & 0x0F) | 0x40);
  result.bytes[8] = static_cast<uint8_t>((result.bytes[8] & 0x3F) | 0x80);
  return result;
}

std::optional<uuid> uuid::parse(std::string_view text) {
  if (text.size() != 36)
    return std::nullopt;
  uuid result;
  size_t out = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-')
        return std::nullopt;
      ++i;
      continue;
    }
    auto hi = hex_value(text[i]);
    auto lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    result.bytes[out++] = static_cast<uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return result;
}

bool uuid::is_nil() const noexcept {
  for (auto b : bytes)
    if (b != 0)
      return false;
  return true;
}

std::string to_string(const uuid& x) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < x.bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out += '-';
    out += digits[x.bytes[i] >> 4];
    out += digits[x.bytes[i] & 0x0F];
  }
  return out;
}

} // namespace billow::events
