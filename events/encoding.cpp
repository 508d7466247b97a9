#include "events/encoding.hpp"

#include <cstring>
#include <stdexcept>

#include <openssl/evp.h>
#include <sodium.h>

#include "events/errc.hpp"

namespace billow::events {

namespace {

void put_u16(std::string& out, uint16_t x) {
  char buf[2] = {static_cast<char>(x >> 8), static_cast<char>(x)};
  out.append(buf, 2);
}

void put_u32(std::string& out, uint32_t x) {
  char buf[4];
  for (int i = 0; i < 4; ++i)
    buf[i] = static_cast<char>(x >> (24 - 8 * i));
  out.append(buf, 4);
}

void put_u64(std::string& out, uint64_t x) {
  char buf[8];
  for (int i = 0; i < 8; ++i)
    buf[i] = static_cast<char>(x >> (56 - 8 * i));
  out.append(buf, 8);
}

uint64_t get_u64(const char* p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<uint8_t>(p[i]);
  return x;
}

uint32_t get_u32(const char* p) {
  uint32_t x = 0;
  for (int i = 0; i < 4; ++i)
    x = (x << 8) | static_cast<uint8_t>(p[i]);
  return x;
}

uint16_t get_u16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8)
                               | static_cast<uint8_t>(p[1]));
}

template <size_t N>
void put_bytes(std::string& out, const std::array<uint8_t, N>& xs) {
  out.append(reinterpret_cast<const char*>(xs.data()), N);
}

template <size_t N>
void get_bytes(const char* p, std::array<uint8_t, N>& xs) {
  std::memcpy(xs.data(), p, N);
}

caf::error malformed(const char* what) {
  return make_error(billow_errc::corruption,
                    std::string{"malformed envelope: "} + what);
}

} // namespace

namespace {

/// One reusable OpenSSL digest context a thread: making one per hash costs
/// more than hashing a small envelope.
class sha256_context {
public:
  // The algorithm is fetched from its provider once: a plain `EVP_sha256()`
  // makes OpenSSL 3 fetch it again in every `EVP_DigestInit_ex` (about a
  // third of the hash's time on a small envelope).
  sha256_context()
    : ctx_(EVP_MD_CTX_new()), md_(EVP_MD_fetch(nullptr, "SHA2-256", nullptr)) {
    if (ctx_ == nullptr || md_ == nullptr) {
      EVP_MD_CTX_free(ctx_);
      EVP_MD_free(md_);
      throw std::runtime_error("OpenSSL has no SHA-256");
    }
  }

  ~sha256_context() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }

  sha256_context(const sha256_context&) = delete;
  sha256_context& operator=(const sha256_context&) = delete;

  hash256 digest(std::string_view bytes) {
    hash256 result;
    unsigned int size = 0;
    // These fail only when OpenSSL cannot allocate or has no SHA-256 at all:
    // no hash chain can be kept then.
    if (EVP_DigestInit_ex(ctx_, md_, nullptr) != 1
        || EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1
        || EVP_DigestFinal_ex(ctx_, result.data(), &size) != 1
        || size != result.size())
      throw std::runtime_error("OpenSSL SHA-256 failed");
    return result;
  }

private:
  EVP_MD_CTX* ctx_;
  EVP_MD* md_;
};

} // namespace

hash256 compute_hash(uint8_t format, std::string_view bytes) {
  if (format == envelope_format_v1) {
    hash256 result;
    crypto_generichash(result.data(), result.size(),
                       reinterpret_cast<const unsigned char*>(bytes.data()),
                       bytes.size(), nullptr, 0);
    return result;
  }
  thread_local sha256_context ctx;
  return ctx.digest(bytes);
}

void encode_envelope(const envelope_fields& x, std::string& out,
                     hash256& hash_out) {
  auto start = out.size();
  out.reserve(start
              + envelope_v1_size(x.stream.size(), x.type.size(), x.actor.size(),
                                 x.payload.size()));
  out.push_back(static_cast<char>(envelope_format_v2));
  put_u64(out, x.position);
  put_u64(out, x.version);
  put_u64(out, static_cast<uint64_t>(x.time_us));
  put_u32(out, x.schema);
  put_bytes(out, x.event_id->bytes);
  put_bytes(out, x.causation_id->bytes);
  put_bytes(out, x.correlation_id->bytes);
  put_bytes(out, *x.prev_hash);
  put_u16(out, static_cast<uint16_t>(x.stream.size()));
  out += x.stream;
  put_u16(out, static_cast<uint16_t>(x.type.size()));
  out += x.type;
  put_u16(out, static_cast<uint16_t>(x.actor.size()));
  out += x.actor;
  put_u32(out, static_cast<uint32_t>(x.payload.size()));
  out += x.payload;
  hash_out = compute_hash(envelope_format_v2,
                          std::string_view{out}.substr(start));
  put_bytes(out, hash_out);
}

void encode_envelope(const envelope& x, std::string& out, hash256& hash_out) {
  encode_envelope(envelope_fields{x.position, x.stream, x.version, x.type,
                                  x.schema, &x.event_id, x.time_us, x.actor,
                                  &x.causation_id, &x.correlation_id,
                                  &x.prev_hash, x.payload},
                  out, hash_out);
}

caf::error decode_envelope(std::string_view bytes, envelope& out) {
  if (bytes.empty())
    return malformed("empty");
  if (auto f = static_cast<uint8_t>(bytes[0]);
      f != envelope_format_v1 && f != envelope_format_v2)
    return make_error(billow_errc::corruption,
                      "unknown envelope format "
                        + std::to_string(static_cast<uint8_t>(bytes[0])));
  if (bytes.size() < envelope_v1_header_size + 10 + 32)
    return malformed("truncated header");
  const char* p = bytes.data();
  out.position = get_u64(p + 1);
  out.version = get_u64(p + 9);
  out.time_us = static_cast<int64_t>(get_u64(p + 17));
  out.schema = get_u32(p + 25);
  get_bytes(p + 29, out.event_id.bytes);
  get_bytes(p + 45, out.causation_id.bytes);
  get_bytes(p + 61, out.correlation_id.bytes);
  get_bytes(p + 77, out.prev_hash);
  size_t off = envelope_v1_header_size;
  // Reserve the trailing hash; every length must fit before it.
  size_t end = bytes.size() - 32;
  auto read_string = [&](std::string& dst, size_t len_bytes) -> bool {
    if (off + len_bytes > end)
      return false;
    size_t len = len_bytes == 2 ? get_u16(p + off) : get_u32(p + off);
    off += len_bytes;
    if (len > end - off)
      return false;
    dst.assign(p + off, len);
    off += len;
    return true;
  };
  if (!read_string(out.stream, 2) || !read_string(out.type, 2)
      || !read_string(out.actor, 2) || !read_string(out.payload, 4))
    return malformed("string overruns the record");
  if (off != end)
    return malformed("trailing bytes");
  get_bytes(p + end, out.hash);
  return caf::none;
}

bool hash_matches(std::string_view bytes) {
  if (bytes.size() < 33)
    return false;
  auto format = static_cast<uint8_t>(bytes[0]);
  if (format != envelope_format_v1 && format != envelope_format_v2)
    return false;
  auto expected = compute_hash(format, bytes.substr(0, bytes.size() - 32));
  return std::memcmp(expected.data(), bytes.data() + bytes.size() - 32, 32)
    == 0;
}

uint64_t encoded_position(std::string_view bytes) {
  return bytes.size() < 9 ? 0 : get_u64(bytes.data() + 1);
}

int64_t encoded_time_us(std::string_view bytes) {
  return bytes.size() < 25 ? 0
                           : static_cast<int64_t>(get_u64(bytes.data() + 17));
}

} // namespace billow::events
