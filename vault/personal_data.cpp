#include "vault/personal_data.hpp"

#include <array>
#include <cstring>
#include <mutex>
#include <vector>

#include <boost/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "events/errc.hpp"
#include "events/event_store.hpp"

namespace billow::vault {

namespace {

constexpr int b64_variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
constexpr char live_tag = 'k';
constexpr char erased_tag = 'x';

std::string to_base64(const std::vector<unsigned char>& bin) {
  std::string out(sodium_base64_encoded_len(bin.size(), b64_variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bin.data(), bin.size(),
                    b64_variant);
  out.resize(out.size() - 1); // the terminating NUL
  return out;
}

std::optional<std::vector<unsigned char>> from_base64(std::string_view text) {
  std::vector<unsigned char> out(text.size());
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(),
                        nullptr, &len, nullptr, b64_variant)
      != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

/// Fills `out` with random bytes from a per-thread buffer that is refilled
/// from libsodium 4 KiB at a time: a nonce per sealed value must not cost a
/// getrandom() call each (a client event seals several).
void random_nonce(unsigned char* out, size_t n) {
  thread_local std::array<unsigned char, 4096> pool;
  thread_local size_t used = pool.size();
  if (used + n > pool.size()) {
    randombytes_buf(pool.data(), pool.size());
    used = 0;
  }
  std::memcpy(out, pool.data() + used, n);
  sodium_memzero(pool.data() + used, n); // a used nonce leaves the pool
  used += n;
}

rocksdb::ColumnFamilyHandle* keys_family(const events::event_store& store) {
  return store.column_family(data_keys_family);
}

} // namespace

personal_data::personal_data(events::event_store& store,
                             modules::sdk::secret_box box)
  : store_(&store), box_(std::move(box)) {
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium failed to start");
}

std::string_view personal_data::subject_of(std::string_view value) noexcept {
  if (!is_personal(value))
    return {};
  auto rest = value.substr(personal_prefix.size());
  auto colon = rest.find(':');
  return colon == std::string_view::npos ? std::string_view{}
                                         : rest.substr(0, colon);
}

std::optional<personal_data::entry>
personal_data::lookup(std::string_view subject) const {
  {
    std::shared_lock guard{mtx_};
    if (auto i = cache_.find(subject); i != cache_.end())
      return i->second;
  }
  auto* cf = keys_family(*store_);
  if (cf == nullptr)
    return std::nullopt;
  std::string value;
  auto st = store_->db().Get(rocksdb::ReadOptions{}, cf,
                             rocksdb::Slice{subject.data(), subject.size()},
                             &value);
  if (!st.ok()) {
    if (!st.IsNotFound())
      spdlog::error("personal data: cannot read the key of {}: {}", subject,
                    st.ToString());
    return std::nullopt;
  }
  entry found;
  if (!value.empty() && value[0] == live_tag) {
    auto raw = box_.unseal(std::string_view{value}.substr(1));
    if (!raw || raw->size() != 32) {
      spdlog::error("personal data: the key of {} cannot be opened", subject);
      return std::nullopt;
    }
    key_bytes key{};
    std::copy(raw->begin(), raw->end(), key.begin());
    sodium_memzero(raw->data(), raw->size());
    found = key;
  }
  std::unique_lock guard{mtx_};
  if (cache_.size() >= max_cached)
    cache_.clear();
  cache_[std::string{subject}] = found;
  return found;
}

caf::expected<std::string> personal_data::seal(std::string_view subject,
                                               std::string_view plaintext) {
  if (subject.empty() || subject.find(':') != std::string_view::npos)
    return make_error(billow_errc::invalid_argument,
                      "a data subject is a stream id without ':'");
  auto known = lookup(subject);
  if (!known) {
    // A new subject: make its key once, even when two threads race here.
    std::unique_lock guard{mtx_};
    auto i = cache_.find(subject);
    if (i == cache_.end()) {
      key_bytes key{};
      crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
      std::string value(1, live_tag);
      value += box_.seal(
        std::string_view{reinterpret_cast<const char*>(key.data()), 32});
      auto* cf = keys_family(*store_);
      if (cf == nullptr)
        return make_error(billow_errc::internal,
                          "the store was opened without the data_keys family");
      rocksdb::WriteBatch batch;
      batch.Put(cf, rocksdb::Slice{subject.data(), subject.size()}, value);
      if (auto err = store_->write(batch, events::durability::async))
        return err;
      i = cache_.emplace(std::string{subject}, key).first;
    }
    known = i->second;
  }
  if (!known->has_value())
    return make_error(billow_errc::invalid_transition,
                      std::string{subject} + " has been erased");
  const auto& key = **known;
  std::vector<unsigned char> out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
                                 + plaintext.size()
                                 + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  auto* nonce = out.data();
  random_nonce(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    out.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &len,
    reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
    reinterpret_cast<const unsigned char*>(subject.data()), subject.size(),
    nullptr, nonce, key.data());
  std::string text{personal_prefix};
  text += subject;
  text += ':';
  text += to_base64(out);
  return text;
}

std::string personal_data::reveal(std::string_view value) const {
  auto subject = subject_of(value);
  if (subject.empty())
    return std::string{value};
  auto known = lookup(subject);
  if (!known || !known->has_value())
    return std::string{erased_text};
  auto bin
    = from_base64(value.substr(personal_prefix.size() + subject.size() + 1));
  constexpr auto overhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
    + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (!bin || bin->size() < overhead)
    return std::string{erased_text};
  std::string out(bin->size() - overhead, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
        reinterpret_cast<unsigned char*>(out.data()), &len, nullptr,
        bin->data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
        bin->size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
        reinterpret_cast<const unsigned char*>(subject.data()), subject.size(),
        bin->data(), (*known)->data())
      != 0) {
    spdlog::error("personal data: a value of {} fails authentication", subject);
    return std::string{erased_text};
  }
  out.resize(len);
  return out;
}

void personal_data::reveal_all(boost::json::value& v) const {
  if (auto* s = v.if_string()) {
    if (is_personal(*s))
      v = reveal(*s);
  } else if (auto* obj = v.if_object()) {
    for (auto& kv : *obj)
      reveal_all(kv.value());
  } else if (auto* arr = v.if_array()) {
    for (auto& x : *arr)
      reveal_all(x);
  }
}

void personal_data::reveal_text(std::string& json) const {
  if (json.find(personal_prefix) == std::string::npos)
    return;
  boost::system::error_code ec;
  auto doc = boost::json::parse(json, ec);
  if (ec)
    return;
  reveal_all(doc);
  json = boost::json::serialize(doc);
}

caf::error personal_data::erase(std::string_view subject) {
  auto* cf = keys_family(*store_);
  if (cf == nullptr)
    return make_error(billow_errc::internal,
                      "the store was opened without the data_keys family");
  {
    std::unique_lock guard{mtx_};
    rocksdb::WriteBatch batch;
    batch.Put(cf, rocksdb::Slice{subject.data(), subject.size()},
              std::string(1, erased_tag));
    if (auto err = store_->write(batch, events::durability::sync))
      return err;
    cache_[std::string{subject}] = std::nullopt;
  }
  // The tombstone hides the key at once; flushing and compacting drops the
  // key's older versions from the family's files as well.
  auto& db = store_->db();
  rocksdb::FlushOptions fo;
  auto st = db.Flush(fo, cf);
  if (st.ok()) {
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    st = db.CompactRange(co, cf, nullptr, nullptr);
  }
  if (!st.ok())
    spdlog::warn("personal data: {} is erased, but compacting its old key "
                 "away failed (it is dropped at the next compaction): {}",
                 subject, st.ToString());
  return caf::none;
}

bool personal_data::is_erased(std::string_view subject) const {
  auto known = lookup(subject);
  return known && !known->has_value();
}

} // namespace billow::vault
