#pragma once

// The stored form of an envelope. All integers are big-endian; the leading
// byte names the format, so that every format ever written reads side by
// side. Formats 1 and 2 share this layout and differ in the hash only.
//
//   offset 0    1          9         17        25       29          45
//          +----+----------+---------+---------+--------+-----------+
//          |fmt | position | version | time_us | schema | event_id  |
//          |0x01| u64      | u64     | i64     | u32    | 16 bytes  |
//          +----+----------+---------+---------+--------+-----------+
//   offset 45            61               77          109
//          +-------------+----------------+-----------+
//          | causation_id| correlation_id | prev_hash |
//          | 16 bytes    | 16 bytes       | 32 bytes  |
//          +-------------+----------------+-----------+
//   offset 109
//          +-----+--------+-----+------+-----+-------+-----+---------+------+
//          | u16 | stream | u16 | type | u16 | actor | u32 | payload | hash |
//          | len | bytes  | len |      | len |       | len | (JSON)  | 32 B |
//          +-----+--------+-----+------+-----+-------+-----+---------+------+
//
// `hash` covers every byte before it (the format byte too): SHA-256
// (OpenSSL, with the CPU's SHA instructions where it has them) in format 2,
// which every append writes; BLAKE2b-256 (libsodium crypto_generichash) in
// format 1, which older logs hold and which still verifies. The next
// envelope's `prev_hash` is this `hash`: the log is a hash chain, and a
// flipped byte anywhere in an envelope makes its own hash mismatch.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "events/envelope.hpp"

namespace billow::events {

/// Format 1: BLAKE2b-256 hashes (read only).
constexpr uint8_t envelope_format_v1 = 1;

/// Format 2: SHA-256 hashes; the format byte written by `encode_envelope`.
constexpr uint8_t envelope_format_v2 = 2;

/// Size of the fixed part of an encoding (before the length-prefixed
/// strings), in every format.
constexpr size_t envelope_v1_header_size = 109;

/// Upper bound for one encoded event; larger ones are refused on append.
constexpr size_t max_event_bytes = 1024 * 1024;

/// The size of the encoding of an envelope with these string sizes.
constexpr size_t envelope_v1_size(size_t stream, size_t type, size_t actor,
                                  size_t payload) noexcept {
  return envelope_v1_header_size + 2 + stream + 2 + type + 2 + actor + 4
    + payload + 32;
}

/// The hash of `bytes` as envelopes of `format` carry it. `format` must be
/// 1 or 2.
hash256 compute_hash(uint8_t format, std::string_view bytes);

/// The fields of an envelope to encode, borrowing its strings: lets the
/// writer encode straight from an append request without copying them into
/// an `envelope` first.
struct envelope_fields {
  uint64_t position = 0;
  std::string_view stream;
  uint64_t version = 0;
  std::string_view type;
  uint32_t schema = 1;
  const uuid* event_id = nullptr;
  int64_t time_us = 0;
  std::string_view actor;
  const uuid* causation_id = nullptr;
  const uuid* correlation_id = nullptr;
  const hash256* prev_hash = nullptr;
  std::string_view payload;
};

/// Appends the encoding of `x` (format 2) to `out`, computing its hash over the
/// encoded bytes and storing it in `hash_out`. Every pointer in `x` must be
/// set.
void encode_envelope(const envelope_fields& x, std::string& out,
                     hash256& hash_out);

/// Appends the encoding of `x` (format 2) to `out`, computing its hash over the
/// encoded bytes (the `hash` member of `x` is ignored) and storing it in
/// `hash_out`.
void encode_envelope(const envelope& x, std::string& out, hash256& hash_out);

/// Decodes `bytes` into `out`, reusing its string capacity. Checks structure
/// only, not the hash (see `hash_matches`). Returns `corruption` on
/// malformed input.
caf::error decode_envelope(std::string_view bytes, envelope& out);

/// True when the trailing hash of the encoded envelope `bytes` matches its
/// content, hashed as its format byte says.
bool hash_matches(std::string_view bytes);

/// The position stored in an encoded envelope without decoding the rest;
/// 0 when `bytes` is too short.
uint64_t encoded_position(std::string_view bytes);

/// The commit time stored in an encoded envelope; 0 when too short.
int64_t encoded_time_us(std::string_view bytes);

} // namespace billow::events
