#pragma once

// Personal data in an append-only log, erasable by crypto-shredding
// (GDPR art. 17).
//
// A personal field (a client's name, email, address, phone, tax id; the buyer
// block copied onto an invoice) is written into an event payload encrypted
// with its data subject's own key, as the text
//
//   pd:v1:<subject>:<base64 of nonce (24 bytes) || XChaCha20-Poly1305 box>
//
// with the subject (`client-<uuid>`) as associated data, so a value cannot be
// moved to another subject. The keys live in column family `data_keys` of the
// event store's database, each sealed with the data directory's key:
//
//   key        value
//   +-------+  +-----------------------------------------+
//   |subject|->| "k" sealed:v1:... (the 32-byte key)      |   a live key
//   +-------+  | "x"                                      |   erased: no key
//              +-----------------------------------------+
//
// Reads reveal the values (`reveal`); erasing a subject replaces its key by
// the tombstone, after which every value of that subject reads "[erased]",
// in answers, replays and rebuilds alike, while the log's bytes and its hash
// chain stay as they were. Backups of the data directory taken before an
// erasure still hold the key: operators rotate them out.

#include <array>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/value.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "modules/sdk/secret_box.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::vault {

/// The column family of the data keys.
inline constexpr std::string_view data_keys_family = "data_keys";

/// Every encrypted personal value starts with this.
inline constexpr std::string_view personal_prefix = "pd:v1:";

/// What an erased subject's personal fields read.
inline constexpr std::string_view erased_text = "[erased]";

/// The per-subject data keys, and sealing and revealing personal values with
/// them. Thread-safe.
class personal_data {
public:
  /// `store` must have been opened with `data_keys_family` and outlive this.
  personal_data(events::event_store& store, modules::sdk::secret_box box);

  /// Encrypts `plaintext` as a personal value of `subject` (its key is made
  /// on first use). An erased subject is `invalid_transition`: nothing new
  /// is kept about it. The key is written to the WAL before the event that
  /// uses it, which the writer then syncs.
  caf::expected<std::string> seal(std::string_view subject,
                                  std::string_view plaintext);

  /// The plaintext of a value made by `seal`; "[erased]" once its subject is
  /// erased (or its key is lost); any other text unchanged.
  std::string reveal(std::string_view value) const;

  /// Replaces every personal value anywhere in `v` by `reveal` of it.
  void reveal_all(boost::json::value& v) const;

  /// As `reveal_all` over the JSON text `json`, in place; touches (parses)
  /// only text that holds a personal value.
  void reveal_text(std::string& json) const;

  /// Destroys `subject`'s key, durably: its values can never be read again.
  /// The key's family is flushed and compacted so its old bytes leave the
  /// database files. Erasing an erased subject does nothing.
  caf::error erase(std::string_view subject);

  /// Whether `subject` has been erased.
  bool is_erased(std::string_view subject) const;

  /// The subject a personal value belongs to (empty when `value` is none).
  static std::string_view subject_of(std::string_view value) noexcept;

  static bool is_personal(std::string_view value) noexcept {
    return value.substr(0, personal_prefix.size()) == personal_prefix;
  }

private:
  using key_bytes = std::array<uint8_t, 32>;
  /// A key as known: absent when erased.
  using entry = std::optional<key_bytes>;

  /// The cached entry of `subject`, loaded from the store when not cached;
  /// nullopt when the subject has no key record at all.
  std::optional<entry> lookup(std::string_view subject) const;

  events::event_store* store_;
  modules::sdk::secret_box box_;
  mutable std::shared_mutex mtx_;
  /// Looked up by string_view without a copy.
  struct subject_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  mutable std::unordered_map<std::string, entry, subject_hash, std::equal_to<>>
    cache_;
  static constexpr size_t max_cached = 100'000;
};

} // namespace billow::vault
