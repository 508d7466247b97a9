#pragma once

// The RocksDB event store: Billow's source of truth (docs/design.md, "The
// event log").
//
// One RocksDB database, one column family per kind of key. All integers in
// keys are big-endian so that bytewise key order is numeric order.
//
//   column family   key                                   value
//   --------------  ------------------------------------  ---------------------
//   events          +----------------+                    envelope, format v1
//                   | position u64BE |                    (events/encoding.hpp)
//                   +----------------+
//   streams         +--------+----+---------------+       +----------------+
//                   | stream | \0 | version u64BE |  -->  | position u64BE |
//                   +--------+----+---------------+       +----------------+
//   ids             +-------------------+                 +----------------+
//                   | event_id 16 bytes |            -->  | position u64BE |
//                   +-------------------+                 +----------------+
//   checkpoints     +------+                              +----------------+
//                   | name |                         -->  | position u64BE |
//                   +------+                              +----------------+
//   snapshots       +--------+ +---------------+-------+
//                   | stream |                       -->  | version u64BE |
//                   bytes |
//                   +--------+ +---------------+-------+
//   by_type         +------+----+----------------+      +-------------------+
//                   | type | \0 | position u64BE |  --> | varint deltas ... |
//                   +------+----+----------------+      +-------------------+
//   by_actor        +-------+----+----------------+     +-------------------+
//                   | actor | \0 | position u64BE | --> | varint deltas ... |
//                   +-------+----+----------------+     +-------------------+
//   by_correlation  +-------------------------+----------------+
//                   | correlation_id 16 bytes | position u64BE | --> (same)
//                   +-------------------------+----------------+
//                   (only events with a non-nil correlation id)
//
// An index entry (by_type, by_actor, by_correlation) lists the positions of
// one group commit that share its type, actor or correlation id: the key holds
// the first, the value the others as LEB128 varint differences to the one
// before (each >= 1), at most 128 positions an entry. An empty value is an
// entry of one position (as every entry was before grouping), so older logs
// read the same. One entry per group and name instead of one per event saves
// memtable inserts on the writer's hot path.
//
// Stream ids, types and actors never contain \0 (validated on append), so the
// separator cannot be confused with content. Positions start at 1 and are
// gapless: the writer assigns them in memory and writes every event of one
// append, with all its index entries, in one WriteBatch, so a crash leaves
// either the whole append or none of it. Commit times never decrease along
// the log, so a time range maps to a position range by binary search.
//
// Threading: appends (and `write`) are serialized by an internal mutex and
// are meant to come from one writer (events/writer.hpp); reads may run from
// any thread at the same time.
//
// Storage faults (a full disk, a failing one) are a state of the store, not
// a crash:
//
//   ok ──a write fails, RocksDB stops writes──► full (no space) or failed
//    ▲                                               │
//    └──── DB::Resume() succeeded (new WAL, memtables flushed) ◄─┘
//          tried by the store's recovery thread every `resume_interval`,
//          once the volume has room for the flush Resume does
//
// Reads keep working in every state. RocksDB's own recovery (its
// SstFileManager waits for 64 MiB free, one write buffer) is turned off in
// favour of the store's, which needs only the space of what Resume writes.
// A `failed` state that RocksDB marks fatal (a failed fsync, say) does not
// resume: only a restart recovers it. Each change is one log line.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "events/envelope.hpp"
#include "events/upcaster.hpp"

namespace rocksdb {
class ColumnFamilyHandle;
class CompactionFilterFactory;
class DB;
class Env;
class Status;
class WriteBatch;
} // namespace rocksdb

namespace billow::events {

/// What the store's storage can do now (see the diagram above).
enum class storage_state : uint8_t {
  /// Writes are taken.
  ok,
  /// The volume is full: writes are refused until space is freed.
  full,
  /// Another storage error stopped writes.
  failed,
};

/// `ok`, `full` or `failed`.
std::string_view to_string(storage_state x);

/// When an append counts as committed.
enum class durability : uint8_t {
  /// After the WAL is fsynced: survives power loss. The default (money).
  sync,
  /// After the WAL write reaches the OS: survives a process crash only.
  async,
};

/// The optimistic-concurrency condition of an append.
class expected_version {
public:
  /// Append whatever the stream's version.
  static constexpr expected_version any() noexcept {
    return expected_version{-1};
  }

  /// Append only when the stream has no events yet (same as `exact(0)`).
  static constexpr expected_version no_stream() noexcept {
    return expected_version{0};
  }

  /// Append only when the stream's current version is `v`.
  static constexpr expected_version exact(uint64_t v) noexcept {
    return expected_version{static_cast<int64_t>(v)};
  }

  constexpr expected_version() noexcept = default;

  constexpr bool is_any() const noexcept {
    return raw_ < 0;
  }

  /// The required version; meaningless for `any`.
  constexpr uint64_t version() const noexcept {
    return static_cast<uint64_t>(raw_);
  }

  /// True when a stream at `current` satisfies the condition.
  constexpr bool admits(uint64_t current) const noexcept {
    return is_any() || version() == current;
  }

  template <class Inspector>
  friend typename Inspector::result_type
  inspect(Inspector& f, expected_version& x) {
    return f(x.raw_);
  }

  friend bool operator==(expected_version, expected_version) = default;

private:
  constexpr explicit expected_version(int64_t raw) noexcept : raw_(raw) {}

  int64_t raw_ = -1;
};

/// One `append` call, as queued by the writer for group commit.
struct append_request {
  std::string stream;
  expected_version expected;
  std::vector<new_event> events;
  /// True when this request and the next one form a unit (a multi-stream
  /// append): a run of requests linked this way is written whole, or, when
  /// any of them is refused, not at all, every member answering that error.
  bool with_next = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_request& x) {
  return f(x.stream, x.expected, x.events, x.with_next);
}

/// The latest snapshot of a stream: the state at `version`, opaque to the
/// store.
struct snapshot {
  uint64_t version = 0;
  std::string bytes;
};

/// Direction of a stream read.
enum class read_direction : uint8_t { forward, backward };

/// A filtered, cursor-paginated read of the log (for audit). Empty or absent
/// filters match everything; all given filters must match.
struct log_query {
  /// First position to consider (inclusive); the cursor of a previous page.
  uint64_t from_position = 1;
  /// Exact event type.
  std::string type;
  /// Stream id prefix, e.g. `service-`.
  std::string stream_prefix;
  /// Exact actor, e.g. `admin:42`.
  std::string actor;
  /// Exact correlation id.
  std::optional<uuid> correlation_id;
  /// Commit time range [time_from_us, time_to_us).
  std::optional<int64_t> time_from_us;
  std::optional<int64_t> time_to_us;
  /// Page size.
  size_t limit = 100;
};

/// One page of a `log_query`.
struct log_page {
  std::vector<envelope> events;
  /// Pass as `from_position` to read the next page; absent at the end.
  std::optional<uint64_t> next_cursor;
};

/// What `verify` found.
struct verify_report {
  /// Positions checked, from `first` on.
  uint64_t checked = 0;
  /// The first position that failed; absent when everything verified.
  std::optional<uint64_t> first_bad;
  /// Why `first_bad` failed.
  std::string problem;

  bool ok() const noexcept {
    return !first_bad.has_value();
  }
};

/// An extra column family whose entries expire: the filter that drops them
/// as RocksDB compacts, and how often its files are compacted again at the
/// least, so that expired entries do not wait for new writes to push them
/// down (the entries' lifetime is the natural choice).
struct expiring_family {
  std::shared_ptr<rocksdb::CompactionFilterFactory> filter;
  std::chrono::seconds recompact_every{std::chrono::hours(24)};
};

/// How to open a store.
struct store_options {
  /// The data directory; created when missing.
  std::string dir;
  /// Commit time source in microseconds since the Unix epoch (the injectable
  /// clock); the system clock when empty.
  std::function<int64_t()> clock;
  /// Extra column families to open (projection read models).
  std::vector<std::string> extra_column_families;
  /// Where RocksDB's files live: the store uses this environment's file
  /// system (wrapped, see wal_file_system.hpp) with RocksDB's default
  /// threads and clock; the default file system when null. Tests pass one
  /// whose files fail on purpose.
  std::shared_ptr<rocksdb::Env> env;
  /// Compaction filters of extra column families, by family name: what
  /// expires there (kept idempotency answers) is dropped as RocksDB compacts
  /// it.
  std::unordered_map<std::string, expiring_family> compaction_filters;
  /// How often the recovery thread tries `DB::Resume()` while writes are
  /// stopped.
  std::chrono::milliseconds resume_interval{500};
  /// Most bytes of WAL files kept before RocksDB flushes the families
  /// holding the oldest one; 0: an eighth of the volume's size, at least
  /// 4 MiB and at most 1 GiB (RocksDB's default, four times every family's
  /// write buffer, is larger than a small volume).
  uint64_t max_total_wal_size = 0;
};

/// The event log over RocksDB. Not copyable: it owns the database.
class event_store {
public:
  /// Opens (or creates) the store in `opts.dir`. Fails with
  /// `data_dir_locked` when another process holds the directory and with
  /// `storage_error` or `corruption` otherwise.
  static caf::expected<std::unique_ptr<event_store>> open(store_options opts);

  ~event_store();
  event_store(const event_store&) = delete;
  event_store& operator=(const event_store&) = delete;

  // -- appends ---------------------------------------------------------------

  /// Appends `events` to `stream` if its version satisfies `expected`, as one
  /// atomic WriteBatch, and returns once durable per `d`. Errors (nothing
  /// written): `invalid_argument` for bad input or an empty append,
  /// `wrong_expected_version` (detail names the current version),
  /// `already_exists` when only some event ids are stored or an id belongs to
  /// another stream. When every event id is already stored in `stream`,
  /// answers the original positions with `duplicate` set.
  caf::expected<append_result>
  append(std::string_view stream, expected_version expected,
         std::vector<new_event> events, durability d = durability::sync);

  /// Group commit: checks every request in order as if appended one after
  /// the other, writes all accepted ones in a single WriteBatch with one
  /// sync, and answers one result per request. A storage failure fails all.
  std::vector<caf::expected<append_result>>
  append_group(std::span<const append_request> requests, durability d);

  /// Pipelined group commit, step 1: like `append_group`, but writes without
  /// waiting for the WAL sync and without publishing the new head to readers.
  /// The caller must `sync_wal()` and then `publish()` before acknowledging.
  std::vector<caf::expected<append_result>>
  append_group_unsynced(std::span<const append_request> requests);

  /// Pipelined group commit, step 2: fsyncs the WAL, making every write
  /// before the call durable. May run on another thread than the appends.
  /// Refused (`storage_unavailable`) once a write to the WAL failed, until
  /// the store has resumed: RocksDB must not sync such a file
  /// (wal_file_system.hpp).
  caf::error sync_wal();

  /// Pipelined group commit, step 3: makes positions up to `upto` (at most
  /// the written head) visible to readers.
  void publish(uint64_t upto);

  /// The last position written, published or not (the writer's head).
  uint64_t written_position();

  // -- storage faults --------------------------------------------------------

  /// What the storage can do now.
  storage_state storage() const noexcept {
    return storage_.load(std::memory_order_acquire);
  }

  /// The error an append gets while `storage()` is not `ok`
  /// (`storage_full` or `storage_unavailable`, the cause in its detail).
  caf::error storage_fault() const;

  /// Why writes stopped, with RocksDB's message (which names files: for
  /// logs, not for answers); empty while `ok`.
  std::string storage_reason() const;

  /// Calls `fn` (on the store's recovery thread) after every change of
  /// `storage()`; `fn` must be quick and must not call the store back.
  void on_storage_change(std::function<void(storage_state)> fn);

  // -- reads -----------------------------------------------------------------

  /// Up to `max_count` events of `stream` starting at `from_version`
  /// (inclusive), ascending or descending. `from_version` 0 with `backward`
  /// means "from the last event". An unknown stream reads empty.
  caf::expected<std::vector<envelope>>
  read_stream(std::string_view stream, uint64_t from_version,
              read_direction dir, size_t max_count) const;

  /// Up to `max_count` events of the log from `from_position` (inclusive).
  caf::expected<std::vector<envelope>> read_all(uint64_t from_position,
                                                size_t max_count) const;

  /// Calls `fn` for each event in [from, to] in log order until it returns
  /// false; `fn` sees a reused envelope (copy what you keep). The fast path
  /// for catch-up and replay.
  caf::error for_each(uint64_t from, uint64_t to,
                      const std::function<bool(const envelope&)>& fn) const;

  /// As `for_each`, but `fn` may take the envelope's contents (swap it with
  /// one of its own): the next event is decoded into what it left there,
  /// reusing those buffers. A reader that keeps envelopes (a prefetching
  /// one) then moves each instead of copying it.
  caf::error for_each_taking(uint64_t from, uint64_t to,
                             const std::function<bool(envelope&)>& fn) const;

  /// The event at `position`, or `not_found`.
  caf::expected<envelope> read_event(uint64_t position) const;

  /// A filtered page of the log. Type, actor and correlation filters follow
  /// their index families; a stream prefix follows the `streams` family; a
  /// time range becomes a position range. None of them scans the whole log.
  caf::expected<log_page> query(const log_query& q) const;

  /// The last committed (durable and published) position; 0 for an empty
  /// log. Reads never return events past it.
  uint64_t last_position() const noexcept {
    return last_position_.load(std::memory_order_acquire);
  }

  /// The current version of `stream` (0 when it has no events).
  caf::expected<uint64_t> stream_version(std::string_view stream) const;

  // -- snapshots and checkpoints
  // -----------------------------------------------

  /// Stores `bytes` as the latest snapshot of `stream` at `version`. Refuses
  /// a version beyond the stream's current one; an older snapshot than the
  /// stored one is ignored.
  caf::error save_snapshot(std::string_view stream, uint64_t version,
                           std::string_view bytes);

  /// The latest snapshot of `stream`, or `not_found`.
  caf::expected<snapshot> load_snapshot(std::string_view stream) const;

  /// Stores the named position (a projection's progress), durably per `d`.
  caf::error save_checkpoint(std::string_view name, uint64_t position,
                             durability d = durability::sync);

  /// The named position, or `not_found`.
  caf::expected<uint64_t> load_checkpoint(std::string_view name) const;

  /// Adds a checkpoint write to `batch`, so that a projection can commit its
  /// read-model changes and its progress atomically with `write`.
  void put_checkpoint(rocksdb::WriteBatch& batch, std::string_view name,
                      uint64_t position) const;

  /// Writes a caller-built batch (read models, checkpoints). Must not touch
  /// the `events`, `streams`, `ids` or index families.
  caf::error write(rocksdb::WriteBatch& batch, durability d);

  /// The handle of column family `name`, or nullptr. Built-in families
  /// (`events`, `streams`, ...) are for reading only (tools, benchmarks);
  /// write only to `checkpoints` and `extra_column_families`.
  rocksdb::ColumnFamilyHandle* column_family(std::string_view name) const;

  /// The underlying database, for read models in extra column families.
  rocksdb::DB& db() const noexcept;

  // -- integrity and schema evolution ----------------------------------------

  /// Walks the hash chain over [from, min(to, last_position())] and names
  /// the first position whose content, position, or link to its predecessor
  /// is wrong (or missing).
  caf::expected<verify_report> verify(uint64_t from, uint64_t to) const;

  /// The upcasters applied by every read.
  upcaster_registry& upcasters() noexcept {
    return upcasters_;
  }

  /// The data directory.
  const std::string& dir() const noexcept {
    return opts_.dir;
  }

private:
  struct impl;

  explicit event_store(store_options opts);

  /// Moves `storage()` to `x` (logging the change once).
  void set_storage(storage_state x, std::string reason);
  /// From RocksDB's listener: a background error stopped writes.
  void on_background_error(const rocksdb::Status& st);
  /// Refuses a write of `batch_bytes` (storage_full, and the state full)
  /// when the WAL has no room ahead for it (wal_file_system.hpp), or any
  /// write while `storage()` is not `ok`.
  caf::error reserve_wal(size_t batch_bytes);
  /// The recovery thread: tries `DB::Resume()` while writes are stopped.
  void recovery_loop();
  /// A failed RocksDB write as the error its caller answers.
  caf::error write_error(const std::string& what, const std::string& status);

  caf::error finish_read(envelope& x) const;

  std::vector<caf::expected<append_result>>
  append_group_impl(std::span<const append_request> requests, durability d,
                    bool publish);

  store_options opts_;
  std::unique_ptr<impl> impl_;
  upcaster_registry upcasters_;
  /// Serializes appends and the writer-side state below.
  std::mutex write_mutex_;
  std::atomic<uint64_t> last_position_{0};
  /// The head of what is written (>= last_position_); guarded by the mutex.
  uint64_t written_position_ = 0;
  /// Stream heads written by this store (the only writer), so an append
  /// needs no index seek for a recently written stream. Dropped wholesale
  /// when it grows past `max_cached_versions`.
  static constexpr size_t max_cached_versions = 100'000;
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view x) const noexcept {
      return std::hash<std::string_view>{}(x);
    }
  };
  std::unordered_map<std::string, uint64_t, string_hash, std::equal_to<>>
    version_cache_;
  hash256 last_hash_{};
  int64_t last_time_us_ = 0;

  std::atomic<storage_state> storage_{storage_state::ok};
  /// Guards the fields below and wakes the recovery thread.
  mutable std::mutex fault_mutex_;
  std::condition_variable fault_cv_;
  std::string fault_reason_;
  std::chrono::steady_clock::time_point fault_since_;
  bool fault_fatal_ = false;
  /// RocksDB stopped writes: only `DB::Resume()` starts them again.
  bool rocks_stopped_ = false;
  bool stopping_ = false;
  std::vector<std::function<void(storage_state)>> storage_listeners_;
  std::thread recovery_;
};

} // namespace billow::events
