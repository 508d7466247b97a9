#include "modules/sdk/secret_box.hpp"

#include <cctype>
#include <stdexcept>
#include <vector>

#include <boost/json/value.hpp>
#include <sodium.h>

#include "events/errc.hpp"

namespace billow::modules::sdk {

bool looks_secret(std::string_view key) {
  // Case and separators do not matter: `Password`, `API-Key`, `apiKey`.
  std::string folded;
  folded.reserve(key.size());
  for (char c : key)
    if (std::isalnum(static_cast<unsigned char>(c)))
      folded.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (std::string_view word :
       {"password", "passwd", "secret", "apikey", "token", "privatekey"})
    if (folded.find(word) != std::string::npos)
      return true;
  return false;
}

void redact_secrets(boost::json::value& v) {
  if (auto* obj = v.if_object()) {
    for (auto& [key, val] : *obj) {
      if (looks_secret(key) && (val.is_string() || val.is_number()))
        val = "[redacted]";
      else
        redact_secrets(val);
    }
  } else if (auto* arr = v.if_array()) {
    for (auto& val : *arr)
      redact_secrets(val);
  }
}

namespace {

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok)
    throw std::runtime_error("libsodium failed to initialise");
}

caf::error bad(std::string why) {
  return make_error(billow_errc::invalid_argument, std::move(why));
}

} // namespace

static_assert(secret_box::key_size == crypto_secretbox_KEYBYTES);

caf::expected<secret_box> secret_box::from_config(std::string_view key_text) {
  ensure_sodium();
  std::array<uint8_t, key_size> key{};
  size_t len = 0;
  if (key_text.size() == 2 * key_size
      && sodium_hex2bin(key.data(), key.size(), key_text.data(),
                        key_text.size(), nullptr, &len, nullptr)
        == 0
      && len == key_size)
    return secret_box{key};
  std::vector<uint8_t> raw(key_text.size());
  if (sodium_base642bin(raw.data(), raw.size(), key_text.data(),
                        key_text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL)
        == 0
      && len == key_size) {
    std::copy(raw.begin(), raw.begin() + key_size, key.begin());
    sodium_memzero(raw.data(), raw.size());
    return secret_box{key};
  }
  return bad("secret key must be 64 hex digits or the base64 of 32 bytes");
}

std::string secret_box::generate_key_hex() {
  ensure_sodium();
  std::array<uint8_t, key_size> key{};
  crypto_secretbox_keygen(key.data());
  std::string hex(2 * key_size + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
  hex.pop_back();
  sodium_memzero(key.data(), key.size());
  return hex;
}

secret_box::secret_box(const std::array<uint8_t, key_size>& key) : key_(key) {
  ensure_sodium();
}

secret_box::~secret_box() {
  sodium_memzero(key_.data(), key_.size());
}

secret_box::secret_box(const secret_box&) = default;

secret_box& secret_box::operator=(const secret_box&) = default;

std::string secret_box::seal(std::string_view plaintext) const {
  std::vector<uint8_t> buf(crypto_secretbox_NONCEBYTES
                           + crypto_secretbox_MACBYTES + plaintext.size());
  randombytes_buf(buf.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(buf.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const uint8_t*>(plaintext.data()),
                        plaintext.size(), buf.data(), key_.data());
  auto b64_len = sodium_base64_ENCODED_LEN(buf.size(),
                                           sodium_base64_VARIANT_ORIGINAL);
  std::string out{prefix};
  auto offset = out.size();
  out.resize(offset + b64_len);
  sodium_bin2base64(out.data() + offset, b64_len, buf.data(), buf.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(offset + b64_len - 1); // drop the terminating NUL
  return out;
}

caf::expected<std::string> secret_box::unseal(std::string_view sealed) const {
  if (!is_sealed(sealed))
    return bad("value is not sealed (no '" + std::string{prefix} + "' prefix)");
  auto b64 = sealed.substr(prefix.size());
  std::vector<uint8_t> buf(b64.size());
  size_t len = 0;
  if (sodium_base642bin(buf.data(), buf.size(), b64.data(), b64.size(), nullptr,
                        &len, nullptr, sodium_base64_VARIANT_ORIGINAL)
      != 0)
    return bad("sealed value is not valid base64");
  if (len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return bad("sealed value is too short");
  std::string plain(
    len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<uint8_t*>(plain.data()),
                                 buf.data() + crypto_secretbox_NONCEBYTES,
                                 len - crypto_secretbox_NONCEBYTES, buf.data(),
                                 key_.data())
      != 0)
    return bad("sealed value does not open with this key (wrong key or "
               "tampered value)");
  return plain;
}

bool secret_box::is_sealed(std::string_view value) noexcept {
  return value.starts_with(prefix);
}

} // namespace billow::modules::sdk
