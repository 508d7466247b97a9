#pragma once

// `Idempotency-Key` on every POST (docs/api.md, "Conventions"): the first
// answer a caller got for a key is kept, and a retry of the same request gets
// that answer again (same status and body, plus `Idempotent-Replayed: true`)
// without running the handler a second time.
//
//   same caller, same key, same request (method, path, body)  -> the answer
//   same caller, same key, another request                    -> 422
//   same caller, same key, first request still running        -> 409
//   5xx answers are not kept (the retry runs again)
//
// Answers live in their own column family beside the log (not in it: they
// are a cache of answers, not facts), keyed by caller and key, for
// `retention` (24 h). Older ones are not answered any more, and RocksDB's
// compaction drops them from disk (`make_expired_answers_filter`). Handlers
// that write events also derive their event ids from the key, so a retry after
// a crash that lost the kept answer still appends nothing twice.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/error.hpp>

#include "api/router.hpp"

namespace rocksdb {
class CompactionFilterFactory;
class DB;
class ColumnFamilyHandle;
class WriteBatch;
} // namespace rocksdb

namespace billow::api {

/// Keys longer than this are refused with 400.
inline constexpr size_t max_idempotency_key_bytes = 255;

/// The column family of the kept answers.
inline constexpr const char* idempotency_family = "idempotency";

/// How long a kept answer is answered again.
inline constexpr std::chrono::seconds idempotency_retention
  = std::chrono::hours(24);

/// The compaction filter of the kept answers' column family: it drops the
/// answers older than `retention` by `now_us` (read as each compaction
/// starts), and keeps what it cannot read.
std::shared_ptr<rocksdb::CompactionFilterFactory>
make_expired_answers_filter(std::function<int64_t()> now_us,
                            std::chrono::seconds retention
                            = idempotency_retention);

class idempotency_store {
public:
  /// `cf` is a column family of `db` for the kept answers; `now_us` the
  /// clock (microseconds since the epoch); `fingerprint_key` (32 bytes, the
  /// data directory's `keys/idempotency.key`) keys the requests'
  /// fingerprints, so that a kept fingerprint of a body that held a
  /// password cannot be checked against guesses without the key.
  idempotency_store(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf,
                    std::function<int64_t()> now_us,
                    std::string fingerprint_key,
                    std::chrono::seconds retention = idempotency_retention);

  /// Writes kept answers with `write` instead of straight to the database
  /// (the event store's `write`, which refuses what the WAL has no room for
  /// instead of letting RocksDB fail on a full volume).
  void write_through(std::function<caf::error(rocksdb::WriteBatch&)> write) {
    write_ = std::move(write);
  }

  /// Runs `inner` for `ctx` (whose caller is set) under the rules above;
  /// requests other than POST, or without the header, just run.
  void run(const request_context& ctx, const route_handler& inner);

private:
  struct in_flight_guard;

  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::function<int64_t()> now_us_;
  std::string fingerprint_key_;
  int64_t retention_us_;
  std::function<caf::error(rocksdb::WriteBatch&)> write_;
  /// Ends the running mark of `key` if it is still `ticket`'s.
  void release(const std::string& key, uint64_t ticket);

  std::mutex mtx_;
  /// (caller, key) -> the ticket of the request running for it.
  std::unordered_map<std::string, uint64_t> in_flight_;
  uint64_t next_ticket_ = 0;
};

} // namespace billow::api
