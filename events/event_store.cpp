#include "events/event_store.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <queue>

#include <boost/unordered/unordered_flat_map.hpp>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "events/encoding.hpp"
#include "events/errc.hpp"
#include "events/validation.hpp"
#include "events/wal_file_system.hpp"

namespace billow::events {

namespace {

// Column family names, in the order they are opened (default first).
constexpr const char* cf_names[] = {
  "default", "events",   "streams",        "ids", "checkpoints", "snapshots",
  "by_type", "by_actor", "by_correlation",
};

enum cf_index : size_t {
  cf_default,
  cf_events,
  cf_streams,
  cf_ids,
  cf_checkpoints,
  cf_snapshots,
  cf_by_type,
  cf_by_actor,
  cf_by_correlation,
  cf_builtin_count,
};

void put_be64(std::string& out, uint64_t x) {
  char buf[8];
  for (int i = 0; i < 8; ++i)
    buf[i] = static_cast<char>(x >> (56 - 8 * i));
  out.append(buf, 8);
}

uint64_t get_be64(const char* p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<uint8_t>(p[i]);
  return x;
}

std::string be64(uint64_t x) {
  std::string out;
  put_be64(out, x);
  return out;
}

/// `name \0 position` or `stream \0 version`.
std::string name_key(std::string_view name, uint64_t n) {
  std::string key;
  key.reserve(name.size() + 9);
  key.append(name);
  key.push_back('\0');
  put_be64(key, n);
  return key;
}

/// Appends `x` as an LEB128 varint (7 bits a byte, low bits first).
void put_varint(std::string& out, uint64_t x) {
  while (x >= 0x80) {
    out.push_back(static_cast<char>(x | 0x80));
    x >>= 7;
  }
  out.push_back(static_cast<char>(x));
}

/// Reads an LEB128 varint from the front of `in` and drops it; false when
/// `in` ends inside it or it overflows 64 bits.
bool get_varint(std::string_view& in, uint64_t& x) {
  x = 0;
  for (unsigned shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    x |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0)
      return true;
  }
  return false;
}

/// Most positions in one index entry (the key's and the value's), so that
/// a query starting inside an entry decodes a bounded list.
constexpr size_t max_positions_per_index_entry = 128;

std::string_view id_key(const uuid& id) {
  return {reinterpret_cast<const char*>(id.bytes.data()), 16};
}

rocksdb::Slice as_slice(std::string_view x) {
  return {x.data(), x.size()};
}

std::string_view as_view(const rocksdb::Slice& x) {
  return {x.data(), x.size()};
}

caf::error storage_error(const rocksdb::Status& st, std::string_view what) {
  auto code = st.IsCorruption() ? billow_errc::corruption
                                : billow_errc::storage_error;
  return make_error(code, std::string{what} + ": " + st.ToString());
}

int64_t system_clock_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Turns RocksDB's per-thread perf-context counting off for a scope (it is on
/// by default and costs thread-local lookups in every write and memtable
/// insert of the hot append path), restoring the caller's level after.
class perf_counting_off {
public:
  perf_counting_off() : saved_(rocksdb::GetPerfLevel()) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  }

  ~perf_counting_off() {
    rocksdb::SetPerfLevel(saved_);
  }

  perf_counting_off(const perf_counting_off&) = delete;
  perf_counting_off& operator=(const perf_counting_off&) = delete;

private:
  rocksdb::PerfLevel saved_;
};

bool starts_with(std::string_view x, std::string_view prefix) {
  return x.substr(0, prefix.size()) == prefix;
}

/// The part of a key up to and including its first \0: the stream, type or
/// actor of an index key. Used as memtable insert hint: keys under one prefix
/// arrive in increasing order, so each insert starts where the last ended.
class up_to_nul_transform : public rocksdb::SliceTransform {
public:
  const char* Name() const override {
    return "billow.UpToNul";
  }

  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    auto* nul
      = static_cast<const char*>(std::memchr(key.data(), 0, key.size()));
    return {key.data(),
            nul ? static_cast<size_t>(nul - key.data()) + 1 : key.size()};
  }

  bool InDomain(const rocksdb::Slice&) const override {
    return true;
  }
};

/// Reports RocksDB's background errors (a failed write, flush or
/// compaction) to the store and keeps RocksDB from recovering by itself:
/// its SstFileManager waits for a whole write buffer (64 MiB) of free space,
/// more than a small volume has, and a manual `Resume()` is refused while it
/// waits. The store's recovery thread resumes instead.
class fault_listener : public rocksdb::EventListener {
public:
  using report_fn = std::function<void(const rocksdb::Status&)>;

  explicit fault_listener(report_fn report) : report_(std::move(report)) {}

  const char* Name() const override {
    return "billow.FaultListener";
  }

  void OnBackgroundError(rocksdb::BackgroundErrorReason,
                         rocksdb::Status* bg_error) override {
    if (bg_error != nullptr)
      report_(*bg_error);
  }

  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }

private:
  report_fn report_;
};

/// RocksDB's LOG file, written so that a full volume cannot end the
/// process: RocksDB's own logger writes through a WritableFileWriter, which
/// after one failed append aborts (Debian's build keeps assertions) at the
/// next. This one writes with stdio and ignores failures; past 4 MiB it
/// starts over, keeping the previous file as `LOG.old`.
class tolerant_log : public rocksdb::Logger {
public:
  explicit tolerant_log(std::string dir)
    : Logger(rocksdb::InfoLogLevel::INFO_LEVEL), dir_(std::move(dir)) {
    open();
  }

  ~tolerant_log() override {
    if (file_ != nullptr)
      std::fclose(file_);
  }

  using Logger::Logv;

  void Logv(const char* format, va_list ap) override {
    std::lock_guard guard{mtx_};
    if (file_ == nullptr)
      return;
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y/%m/%d-%H:%M:%S ", &tm);
    std::fputs(stamp, file_);
    std::vfprintf(file_, format, ap);
    std::fputc('\n', file_);
    std::fflush(file_);
    if (std::ftell(file_) > (4 << 20)) {
      std::fclose(file_);
      std::error_code ec;
      std::filesystem::rename(dir_ + "/LOG", dir_ + "/LOG.old", ec);
      open();
    }
  }

private:
  void open() {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    file_ = std::fopen((dir_ + "/LOG").c_str(), "a");
  }

  std::string dir_;
  std::mutex mtx_;
  std::FILE* file_ = nullptr;
};

/// Free bytes of the volume holding `dir` (for an unprivileged process);
/// max when unknown.
uint64_t free_bytes(const std::string& dir) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0)
    return UINT64_MAX;
  return static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

/// The size of the volume holding `dir`; 0 when unknown.
uint64_t volume_bytes(const std::string& dir) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0)
    return 0;
  return static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
}

/// Bytes of the WAL files in `dir`: about what the memtables hold, which is
/// what `Resume()` flushes into table files.
uint64_t wal_bytes(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".log")
      total += entry.file_size(ec);
  return total;
}

/// Room kept ahead of the WAL for what a write may add beside its own batch
/// (other writers in RocksDB's write group, record headers).
constexpr uint64_t wal_room_margin = 256 << 10;

} // namespace

std::string_view to_string(storage_state x) {
  switch (x) {
    case storage_state::ok: return "ok";
    case storage_state::full: return "full";
    case storage_state::failed: return "failed";
  }
  return "unknown";
}

struct event_store::impl {
  /// One event's entry for an index family, before a group's entries for
  /// the same key are merged into one.
  struct index_ref {
    /// The type, actor or 16 correlation id bytes (borrowed from the
    /// request).
    std::string_view name;
    uint64_t position;
  };

  /// The WAL's sync gate and room (wal_file_system.hpp).
  std::shared_ptr<wal_control> wal = std::make_shared<wal_control>();
  /// The file system RocksDB writes through (wal_file_system.hpp); declared
  /// first, so that it outlives the database.
  std::unique_ptr<rocksdb::Env> env;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  std::vector<std::string> cf_names_all;

  // Scratch space of `append_group_impl` (guarded by the write mutex), kept
  // between groups so that their buffers are allocated once.
  rocksdb::WriteBatch batch;
  std::string encoded;
  std::string key;
  std::string value;
  /// Where an event id of the group being built went.
  struct pending_id {
    std::string_view stream;
    uint64_t position;
    uint64_t version;
  };
  // Flat maps and vectors keep their capacity between groups: no allocation
  // per event or per stream on the hot path.
  boost::unordered_flat_map<std::string_view, uint64_t> pending_versions;
  boost::unordered_flat_map<uuid, pending_id, uuid_hash> pending_ids;
  std::vector<rocksdb::Slice> id_keys;
  std::vector<rocksdb::PinnableSlice> id_values;
  std::vector<rocksdb::Status> id_statuses;
  std::vector<index_ref> by_type;
  std::vector<index_ref> by_actor;
  std::vector<index_ref> by_correlation;

  ~impl() {
    if (db) {
      for (auto* h : cfs)
        db->DestroyColumnFamilyHandle(h);
      db->Close();
    }
  }

  rocksdb::ColumnFamilyHandle* cf(cf_index i) const {
    return cfs[i];
  }

  /// Adds one index family's entries of a group to `batch` and clears
  /// `refs`: one entry per name and run of up to
  /// `max_positions_per_index_entry` positions, keyed by the run's first
  /// position and valued with the varint deltas to the others.
  void put_index(cf_index family, std::vector<index_ref>& refs,
                 bool nul_separated) {
    // Stable: the positions of one name stay in increasing order.
    std::stable_sort(refs.begin(), refs.end(),
                     [](const index_ref& x, const index_ref& y) {
                       return x.name < y.name;
                     });
    for (size_t i = 0; i < refs.size();) {
      auto& head = refs[i];
      key.assign(head.name);
      if (nul_separated)
        key.push_back('\0');
      put_be64(key, head.position);
      value.clear();
      auto prev = head.position;
      auto j = i + 1;
      for (; j < refs.size() && j - i < max_positions_per_index_entry
           && refs[j].name == head.name;
           ++j) {
        put_varint(value, refs[j].position - prev);
        prev = refs[j].position;
      }
      batch.Put(cf(family), key, value);
      i = j;
    }
    refs.clear();
  }

  /// Every write goes without RocksDB's sync: a synced write fsyncs the WAL
  /// inside RocksDB, where the sync gate cannot see it; `sync_wal` follows.
  rocksdb::WriteOptions write_options() const {
    return rocksdb::WriteOptions{};
  }

  /// Reads the raw envelope at `position` into `out`.
  rocksdb::Status get_event(uint64_t position, std::string& out) const {
    auto key = be64(position);
    return db->Get(rocksdb::ReadOptions{}, cf(cf_events), key, &out);
  }

  /// The current version of `stream`, from the `streams` family.
  caf::expected<uint64_t> stored_version(std::string_view stream) const {
    auto upper = name_key(stream, UINT64_MAX);
    std::unique_ptr<rocksdb::Iterator> it{
      db->NewIterator(rocksdb::ReadOptions{}, cf(cf_streams))};
    it->SeekForPrev(upper);
    if (!it->status().ok())
      return storage_error(it->status(), "reading stream version");
    if (!it->Valid())
      return uint64_t{0};
    auto key = as_view(it->key());
    if (key.size() != stream.size() + 9 || !starts_with(key, stream)
        || key[stream.size()] != '\0')
      return uint64_t{0};
    return get_be64(key.data() + stream.size() + 1);
  }
};

event_store::event_store(store_options opts)
  : opts_(std::move(opts)), impl_(std::make_unique<impl>()) {
  if (!opts_.clock)
    opts_.clock = system_clock_us;
}

event_store::~event_store() {
  {
    std::lock_guard guard{fault_mutex_};
    stopping_ = true;
  }
  fault_cv_.notify_all();
  if (recovery_.joinable())
    recovery_.join();
  // The database before the members its listener reports to.
  impl_.reset();
}

caf::error event_store::storage_fault() const {
  std::lock_guard guard{fault_mutex_};
  auto state = storage();
  if (state == storage_state::ok)
    return caf::none;
  return make_error(state == storage_state::full
                      ? billow_errc::storage_full
                      : billow_errc::storage_unavailable,
                    "the event log takes no writes: " + fault_reason_);
}

std::string event_store::storage_reason() const {
  std::lock_guard guard{fault_mutex_};
  return storage() == storage_state::ok ? std::string{} : fault_reason_;
}

void event_store::on_storage_change(std::function<void(storage_state)> fn) {
  std::lock_guard guard{fault_mutex_};
  storage_listeners_.push_back(std::move(fn));
}

void event_store::set_storage(storage_state x, std::string reason) {
  std::vector<std::function<void(storage_state)>> listeners;
  {
    std::lock_guard guard{fault_mutex_};
    auto was = storage();
    if (x == was)
      return;
    if (x != storage_state::ok) {
      fault_since_ = std::chrono::steady_clock::now();
      fault_reason_ = std::move(reason);
      spdlog::error("storage: the event log takes no writes ({}): {}",
                    to_string(x), fault_reason_);
    } else {
      auto took = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                                - fault_since_)
                    .count();
      spdlog::info("storage: the event log takes writes again, after {:.1f} "
                   "s",
                   took);
      fault_reason_.clear();
      fault_fatal_ = false;
    }
    storage_.store(x, std::memory_order_release);
    listeners = storage_listeners_;
  }
  fault_cv_.notify_all();
  for (auto& fn : listeners)
    fn(x);
}

void event_store::recovery_loop() {
  std::unique_lock guard{fault_mutex_};
  bool told_waiting = false;
  while (!stopping_) {
    if (storage() == storage_state::ok) {
      told_waiting = false;
      fault_cv_.wait(guard);
      continue;
    }
    fault_cv_.wait_for(guard, opts_.resume_interval);
    if (stopping_ || storage() == storage_state::ok || fault_fatal_)
      continue;
    auto state = storage();
    auto resume = rocks_stopped_;
    guard.unlock();
    if (!resume) {
      // Only the store refused (no room ahead of the WAL): RocksDB takes
      // writes as soon as there is room again.
      if (impl_->wal->reserve && impl_->wal->reserve(4 * wal_room_margin))
        set_storage(storage_state::ok, {});
      guard.lock();
      continue;
    }
    // What Resume writes: the memtables as table files (about the WAL's
    // size), a new WAL, a manifest record.
    auto need = wal_bytes(opts_.dir) + (4u << 20);
    auto have = free_bytes(opts_.dir);
    rocksdb::Status st;
    if (state == storage_state::full && have < need)
      st = rocksdb::Status::NoSpace(
        fmt::format("{:.1f} MiB free, {:.1f} MiB needed to resume",
                    static_cast<double>(have) / (1 << 20),
                    static_cast<double>(need) / (1 << 20)));
    else
      st = impl_->db->Resume();
    if (st.ok()) {
      impl_->wal->gate.reopen();
      {
        std::lock_guard again{fault_mutex_};
        rocks_stopped_ = false;
      }
      set_storage(storage_state::ok, {});
    } else if (!told_waiting) {
      told_waiting = true;
      spdlog::warn("storage: cannot resume writes yet (trying every {} ms): "
                   "{}",
                   opts_.resume_interval.count(), st.ToString());
    }
    guard.lock();
  }
}

void event_store::on_background_error(const rocksdb::Status& st) {
  {
    std::lock_guard guard{fault_mutex_};
    rocks_stopped_ = true;
    if (st.severity() >= rocksdb::Status::Severity::kFatalError) {
      fault_fatal_ = true;
      spdlog::error("storage: RocksDB marks this error {}: writes resume "
                    "only after a restart",
                    st.severity()
                        >= rocksdb::Status::Severity::kUnrecoverableError
                      ? "unrecoverable"
                      : "fatal");
    }
  }
  auto full = st.IsNoSpace()
    || st.subcode() == rocksdb::Status::SubCode::kSpaceLimit;
  set_storage(full ? storage_state::full : storage_state::failed,
              st.ToString());
}

caf::error event_store::write_error(const std::string& what,
                                    const std::string& status) {
  // RocksDB reported the write's failure to the listener before returning
  // it: the state says what kind it is.
  if (auto fault = storage_fault())
    return fault;
  return make_error(billow_errc::storage_error, what + ": " + status);
}

caf::expected<std::unique_ptr<event_store>>
event_store::open(store_options opts) {
  if (opts.dir.empty())
    return make_error(billow_errc::invalid_argument, "data dir is empty");
  std::unique_ptr<event_store> self{new event_store(std::move(opts))};
  auto& im = *self->impl_;
  rocksdb::DBOptions db_opts;
  im.env = rocksdb::NewCompositeEnv(make_wal_prefill_file_system(
    self->opts_.env ? self->opts_.env->GetFileSystem()
                    : rocksdb::FileSystem::Default(),
    im.wal));
  db_opts.env = im.env.get();
  // Storage faults (see the header): the listener reports them, the
  // store's recovery thread resumes, RocksDB's own resuming is off.
  auto* raw_self = self.get();
  db_opts.listeners.push_back(
    std::make_shared<fault_listener>([raw_self](const rocksdb::Status& st) {
      raw_self->on_background_error(st);
    }));
  db_opts.max_bgerror_resume_count = 0;
  // Small volumes: no file is preallocated (the WAL's zeros are written
  // ahead by the file system, wal_file_system.hpp; RocksDB would reserve
  // 1.1 write buffers, ~70 MiB, for each new WAL and a whole target size
  // for each table file); WAL files are bounded by the volume's size; a
  // restart replays the WAL into memtables without writing table files
  // first; RocksDB's LOG cannot fail a write (tolerant_log).
  db_opts.allow_fallocate = false;
  db_opts.max_total_wal_size = self->opts_.max_total_wal_size;
  if (db_opts.max_total_wal_size == 0) {
    std::error_code mk;
    std::filesystem::create_directories(self->opts_.dir, mk);
    db_opts.max_total_wal_size = std::clamp<uint64_t>(
      volume_bytes(self->opts_.dir) / 8, 4u << 20, 1u << 30);
  }
  db_opts.avoid_flush_during_recovery = true;
  db_opts.info_log = std::make_shared<tolerant_log>(self->opts_.dir);
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  // One writer: concurrent memtable inserts buy nothing, and turning them off
  // allows the hashed memtable of `ids`.
  db_opts.allow_concurrent_memtable_write = false;
  // Point lookups that mostly miss (event ids on append, read-model keys)
  // profit from bloom filters; all families share one block cache.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(64 << 20);
  rocksdb::ColumnFamilyOptions cf_opts;
  cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // The log's own families (`events`, `streams`, the indexes) are read by
  // iterators or by keys that exist: a bloom filter would never answer
  // "absent" there, yet every flush would hash each key into one. Their two
  // youngest levels stay uncompressed, as RocksDB's tuning guide advises:
  // that data is rewritten soon by compaction, and compressing it costs the
  // flush thread CPU that the writer shares on a small machine.
  auto log_table = table;
  log_table.filter_policy.reset();
  auto log_opts = cf_opts;
  log_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(log_table));
  log_opts.compression_per_level = {rocksdb::kNoCompression,
                                    rocksdb::kNoCompression,
                                    rocksdb::kSnappyCompression};
  // Most id lookups on append miss (new events): a memtable bloom filter
  // answers those without walking the skiplist.
  // `ids` is only ever read by point lookups of random keys: a hashed
  // memtable inserts and finds them without a skiplist search.
  auto ids_opts = cf_opts;
  ids_opts.memtable_whole_key_filtering = true;
  ids_opts.memtable_prefix_bloom_size_ratio = 0.1;
  ids_opts.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
  // 2^18 buckets (2 MiB a memtable) keep the lists short when a 64 MiB
  // memtable holds about a million ids.
  ids_opts.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1 << 18));
  // Keys that grow within a prefix insert with a per-prefix hint: O(1)
  // instead of a skiplist search from the top.
  auto sequential_opts = log_opts;
  sequential_opts.memtable_insert_with_hint_prefix_extractor.reset(
    rocksdb::NewFixedPrefixTransform(0));
  auto prefixed_opts = log_opts;
  prefixed_opts.memtable_insert_with_hint_prefix_extractor
    = std::make_shared<up_to_nul_transform>();
  auto correlation_opts = log_opts;
  correlation_opts.memtable_insert_with_hint_prefix_extractor.reset(
    rocksdb::NewFixedPrefixTransform(16));
  // Read models write each commit's changed records sorted by key (`s/<id>`,
  // `c/<id>`, ...): a hint per two-byte prefix lets each insert start next to
  // the last one. Keys in no order cost about what they cost without it.
  auto extra_opts = cf_opts;
  extra_opts.memtable_insert_with_hint_prefix_extractor.reset(
    rocksdb::NewFixedPrefixTransform(2));
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (auto* name : cf_names) {
    std::string_view n{name};
    if (n == "ids")
      descs.emplace_back(name, ids_opts);
    else if (n == "events")
      descs.emplace_back(name, sequential_opts);
    else if (n == "streams" || n == "by_type" || n == "by_actor")
      descs.emplace_back(name, prefixed_opts);
    else if (n == "by_correlation")
      descs.emplace_back(name, correlation_opts);
    else
      descs.emplace_back(name, cf_opts);
  }
  for (auto& name : self->opts_.extra_column_families) {
    auto filter = self->opts_.compaction_filters.find(name);
    if (filter == self->opts_.compaction_filters.end()) {
      descs.emplace_back(name, extra_opts);
      continue;
    }
    auto expiring = extra_opts;
    expiring.compaction_filter_factory = filter->second.filter;
    expiring.periodic_compaction_seconds = static_cast<uint64_t>(
      std::max<int64_t>(1, filter->second.recompact_every.count()));
    descs.emplace_back(name, expiring);
  }
  // Families made by others (read models, kept answers) open too, so that
  // a tool that does not know them (billow events, verify) can still open
  // the store; RocksDB refuses to open a store with families left out.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_opts, self->opts_.dir, &existing).ok())
    for (auto& name : existing)
      if (std::none_of(descs.begin(), descs.end(), [&](const auto& d) {
            return d.name == name;
          }))
        descs.emplace_back(name, cf_opts);
  for (auto& d : descs)
    im.cf_names_all.push_back(d.name);
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(db_opts, self->opts_.dir, descs, &im.cfs, &raw);
  if (!st.ok()) {
    auto msg = st.ToString();
    if (st.IsIOError()
        && (msg.find("lock") != std::string::npos
            || msg.find("LOCK") != std::string::npos))
      return make_error(billow_errc::data_dir_locked,
                        "data directory " + self->opts_.dir
                          + " is already in use by another process (" + msg
                          + ")");
    return storage_error(st, "opening " + self->opts_.dir);
  }
  im.db.reset(raw);
  // Recover the head of the log: last position, its hash and its time.
  std::unique_ptr<rocksdb::Iterator> it{
    raw->NewIterator(rocksdb::ReadOptions{}, im.cf(cf_events))};
  it->SeekToLast();
  if (!it->status().ok())
    return storage_error(it->status(), "reading the log head");
  if (it->Valid()) {
    envelope last;
    if (auto err = decode_envelope(as_view(it->value()), last))
      return err;
    if (!hash_matches(as_view(it->value())))
      return make_error(billow_errc::corruption,
                        "the last event (position "
                          + std::to_string(last.position)
                          + ") does not match its hash");
    self->last_position_.store(last.position, std::memory_order_release);
    self->written_position_ = last.position;
    self->last_hash_ = last.hash;
    self->last_time_us_ = last.time_us;
  }
  self->recovery_ = std::thread{[raw_self] {
    raw_self->recovery_loop();
  }};
  return self;
}

// -- appends
// -------------------------------------------------------------------

caf::expected<append_result>
event_store::append(std::string_view stream, expected_version expected,
                    std::vector<new_event> events, durability d) {
  append_request req{std::string{stream}, expected, std::move(events)};
  auto results = append_group(std::span<const append_request>{&req, 1}, d);
  return std::move(results.front());
}

std::vector<caf::expected<append_result>>
event_store::append_group(std::span<const append_request> requests,
                          durability d) {
  return append_group_impl(requests, d, true);
}

std::vector<caf::expected<append_result>>
event_store::append_group_unsynced(std::span<const append_request> requests) {
  return append_group_impl(requests, durability::async, false);
}

caf::error event_store::sync_wal() {
  auto& gate = impl_->wal->gate;
  if (!gate.enter()) {
    if (auto fault = storage_fault())
      return fault;
    return make_error(billow_errc::storage_unavailable,
                      "a write to the WAL failed; no sync until the store "
                      "resumed");
  }
  auto st = impl_->db->SyncWAL();
  gate.leave();
  if (!st.ok())
    return write_error("syncing the WAL", st.ToString());
  return caf::none;
}

caf::error event_store::reserve_wal(size_t batch_bytes) {
  if (storage() != storage_state::ok)
    if (auto fault = storage_fault())
      return fault;
  auto& reserve = impl_->wal->reserve;
  if (!reserve || reserve(batch_bytes + wal_room_margin))
    return caf::none;
  set_storage(storage_state::full,
              "no room for " + std::to_string(batch_bytes + wal_room_margin)
                + " more bytes of WAL in " + opts_.dir);
  return storage_fault();
}

void event_store::publish(uint64_t upto) {
  std::lock_guard<std::mutex> guard{write_mutex_};
  upto = std::min(upto, written_position_);
  if (upto > last_position_.load(std::memory_order_relaxed))
    last_position_.store(upto, std::memory_order_release);
}

uint64_t event_store::written_position() {
  std::lock_guard<std::mutex> guard{write_mutex_};
  return written_position_;
}

std::vector<caf::expected<append_result>>
event_store::append_group_impl(std::span<const append_request> requests,
                               durability d, bool publish) {
  std::lock_guard<std::mutex> guard{write_mutex_};
  perf_counting_off no_perf_counts;
  auto& im = *impl_;
  std::vector<caf::expected<append_result>> results;
  results.reserve(requests.size());
  // State as if the accepted requests so far were committed.
  auto next_position = written_position_ + 1;
  auto prev_hash = last_hash_;
  auto time_us = std::max(opts_.clock(), last_time_us_);
  // Stream heads and event ids of the requests accepted so far (keys and
  // streams are views of the requests, which outlive the call).
  auto& pending_versions = im.pending_versions;
  auto& pending_ids = im.pending_ids;
  pending_versions.clear();
  pending_ids.clear();
  auto& value = im.value;
  auto& batch = im.batch;
  // A batch that once held huge events gives its memory back.
  if (batch.GetDataSize() > (16u << 20))
    batch = rocksdb::WriteBatch{};
  batch.Clear();
  im.by_type.clear();
  im.by_actor.clear();
  im.by_correlation.clear();
  bool any_written = false;
  // Every event id of the group looked up in the store at once: one
  // MultiGet shares the per-file work (filters, table handles) between the
  // keys. Nothing is written while the group is built, so these answers
  // hold; ids of earlier requests in the group are checked first below.
  size_t id_count = 0;
  for (auto& req : requests)
    id_count += req.events.size();
  auto& id_keys = im.id_keys;
  id_keys.clear();
  for (auto& req : requests)
    for (auto& ev : req.events)
      id_keys.push_back(as_slice(id_key(ev.event_id)));
  auto& id_values = im.id_values;
  for (auto& v : id_values)
    v.Reset();
  id_values.resize(id_count);
  auto& id_statuses = im.id_statuses;
  id_statuses.assign(id_count, rocksdb::Status{});
  if (id_count > 0)
    im.db->MultiGet(rocksdb::ReadOptions{}, im.cf(cf_ids), id_count,
                    id_keys.data(), id_values.data(), id_statuses.data());
  // One request: checked and, when accepted, encoded into the batch; its
  // result is pushed onto `results`. `ids_at`: where its ids start in
  // `id_values` and `id_statuses`.
  auto append_one = [&](const append_request& req, size_t ids_at) {
    auto fail = [&](caf::error err) {
      results.emplace_back(std::move(err));
    };
    if (auto err = validate_stream_id(req.stream)) {
      fail(std::move(err));
      return;
    }
    if (req.events.empty()) {
      fail(make_error(billow_errc::invalid_argument, "empty append"));
      return;
    }
    caf::error bad;
    for (auto& ev : req.events) {
      if ((bad = validate_new_event(ev)))
        break;
    }
    if (bad) {
      fail(std::move(bad));
      return;
    }
    // Idempotency: look every event id up (pending ones first).
    size_t found = 0;
    uint64_t first_found = 0, last_found = 0, last_found_version = 0;
    bool foreign = false, dup_in_request = false;
    for (size_t i = 0; i < req.events.size(); ++i) {
      auto& id = req.events[i].event_id;
      for (size_t j = 0; j < i; ++j)
        if (req.events[j].event_id == id)
          dup_in_request = true;
      uint64_t pos = 0;
      std::string_view owner;
      if (auto p = pending_ids.find(id); p != pending_ids.end()) {
        owner = p->second.stream;
        pos = p->second.position;
        last_found_version = p->second.version;
      } else {
        auto& st = id_statuses[ids_at + i];
        auto& stored = id_values[ids_at + i];
        if (st.ok() && stored.size() == 8) {
          pos = get_be64(stored.data());
        } else if (!st.IsNotFound()) {
          bad = storage_error(st, "looking up event id");
          break;
        }
      }
      if (pos == 0)
        continue;
      ++found;
      if (first_found == 0)
        first_found = pos;
      last_found = pos;
      if (owner.empty()) {
        auto st = im.get_event(pos, value);
        if (!st.ok()) {
          bad = storage_error(st, "reading a stored duplicate");
          break;
        }
        envelope stored;
        if ((bad = decode_envelope(value, stored)))
          break;
        if (stored.stream != req.stream)
          foreign = true;
        last_found_version = stored.version;
      } else if (owner != req.stream) {
        foreign = true;
      }
    }
    if (bad) {
      fail(std::move(bad));
      return;
    }
    if (dup_in_request) {
      fail(make_error(billow_errc::invalid_argument,
                      "an event id appears twice in one append"));
      return;
    }
    if (found > 0) {
      if (found != req.events.size() || foreign) {
        fail(make_error(billow_errc::already_exists,
                        foreign ? "an event id is stored in another stream"
                                : "some but not all event ids are stored"));
        return;
      }
      // A retry: answer the original positions, write nothing.
      results.emplace_back(
        append_result{first_found, last_found, last_found_version, true});
      return;
    }
    // Optimistic concurrency.
    uint64_t current = 0;
    if (auto p = pending_versions.find(req.stream);
        p != pending_versions.end()) {
      current = p->second;
    } else if (auto c = version_cache_.find(req.stream);
               c != version_cache_.end()) {
      current = c->second;
    } else {
      auto v = im.stored_version(req.stream);
      if (!v) {
        fail(std::move(v.error()));
        return;
      }
      current = *v;
    }
    if (!req.expected.admits(current)) {
      fail(make_error(billow_errc::wrong_expected_version,
                      "stream " + req.stream + " is at version "
                        + std::to_string(current) + ", expected "
                        + std::to_string(req.expected.version())
                        + "; current_version=" + std::to_string(current)));
      return;
    }
    // The size limit is checked before anything is kept, so a refused
    // request leaves the batch untouched.
    for (auto& ev : req.events) {
      auto size = envelope_v1_size(req.stream.size(), ev.type.size(),
                                   ev.actor.size(), ev.payload.size());
      if (size > max_event_bytes) {
        bad = make_error(billow_errc::invalid_argument,
                         "event " + to_string(ev.event_id) + " is "
                           + std::to_string(size)
                           + " bytes encoded, over the 1 MiB limit");
        break;
      }
    }
    if (bad) {
      fail(std::move(bad));
      return;
    }
    // Encode each event straight from the request into the batch, with its
    // stream and id entries; the index families get theirs per group below.
    std::string_view stream_key = req.stream;
    pending_versions.try_emplace(stream_key, current);
    auto& encoded = im.encoded;
    for (size_t i = 0; i < req.events.size(); ++i) {
      auto& ev = req.events[i];
      auto pos = next_position + i;
      auto version = current + 1 + i;
      auto link = prev_hash;
      encoded.clear();
      encode_envelope(envelope_fields{pos, req.stream, version, ev.type,
                                      ev.schema, &ev.event_id, time_us,
                                      ev.actor, &ev.causation_id,
                                      &ev.correlation_id, &link, ev.payload},
                      encoded, prev_hash);
      char pos_key[8];
      for (int b = 0; b < 8; ++b)
        pos_key[b] = static_cast<char>(pos >> (56 - 8 * b));
      rocksdb::Slice pos_slice{pos_key, 8};
      batch.Put(im.cf(cf_events), pos_slice, encoded);
      im.key.assign(req.stream);
      im.key.push_back('\0');
      put_be64(im.key, version);
      batch.Put(im.cf(cf_streams), im.key, pos_slice);
      batch.Put(im.cf(cf_ids), as_slice(id_key(ev.event_id)), pos_slice);
      im.by_type.push_back({ev.type, pos});
      im.by_actor.push_back({ev.actor, pos});
      if (!ev.correlation_id.is_nil())
        im.by_correlation.push_back({id_key(ev.correlation_id), pos});
      pending_ids[ev.event_id] = {stream_key, pos, version};
    }
    auto first = next_position;
    next_position += req.events.size();
    pending_versions[stream_key] = current + req.events.size();
    any_written = true;
    results.emplace_back(append_result{first, next_position - 1,
                                       current + req.events.size(), false});
  };
  // A unit (`with_next`, see append_request) is written whole or not at all:
  // its first request sets a save point, and a refused member rolls the
  // batch and the group's bookkeeping back to it and fails every member.
  struct unit_start {
    size_t first_request = 0;
    size_t results_at = 0;
    uint64_t next_position = 0;
    decltype(last_hash_) hash;
    bool any_written = false;
    size_t by_type = 0, by_actor = 0, by_correlation = 0;
    boost::unordered_flat_map<std::string_view, uint64_t> versions;
    std::vector<uuid> ids;
    /// Members found stored before, and members written now.
    size_t repeats = 0, news = 0;
  };
  std::optional<unit_start> unit;
  size_t id_offset = 0;
  for (size_t r = 0; r < requests.size(); ++r) {
    auto& req = requests[r];
    auto ids_at = id_offset;
    id_offset += req.events.size();
    if (!unit && req.with_next) {
      batch.SetSavePoint();
      unit = unit_start{r,
                        results.size(),
                        next_position,
                        prev_hash,
                        any_written,
                        im.by_type.size(),
                        im.by_actor.size(),
                        im.by_correlation.size(),
                        pending_versions,
                        {},
                        0,
                        0};
    }
    append_one(req, ids_at);
    if (!unit)
      continue;
    caf::error refused;
    if (!results.back()) {
      refused = results.back().error();
    } else {
      (results.back()->duplicate ? unit->repeats : unit->news) += 1;
      if (!results.back()->duplicate)
        for (auto& ev : req.events)
          unit->ids.push_back(ev.event_id);
      // Stored before in part only: the ids of a unit collide with another
      // one's. Writing the new part would be half a unit.
      if (!req.with_next && unit->repeats > 0 && unit->news > 0)
        refused = make_error(billow_errc::already_exists,
                             "part of a multi-stream append is stored "
                             "already and part is not");
    }
    if (refused) {
      batch.RollbackToSavePoint();
      next_position = unit->next_position;
      prev_hash = unit->hash;
      any_written = unit->any_written;
      im.by_type.resize(unit->by_type);
      im.by_actor.resize(unit->by_actor);
      im.by_correlation.resize(unit->by_correlation);
      pending_versions = std::move(unit->versions);
      for (auto& id : unit->ids)
        pending_ids.erase(id);
      results.erase(results.begin()
                      + static_cast<std::ptrdiff_t>(unit->results_at),
                    results.end());
      auto last = r;
      while (last + 1 < requests.size() && requests[last].with_next)
        ++last;
      for (auto i = unit->first_request; i <= last; ++i)
        results.emplace_back(refused);
      for (auto i = r + 1; i <= last; ++i)
        id_offset += requests[i].events.size();
      r = last;
      unit.reset();
      continue;
    }
    if (!req.with_next) {
      batch.PopSavePoint();
      unit.reset();
    }
  }
  if (unit) // a unit left open by the last request: it ends with the group
    batch.PopSavePoint();
  if (!any_written)
    return results;
  im.put_index(cf_by_type, im.by_type, true);
  im.put_index(cf_by_actor, im.by_actor, true);
  im.put_index(cf_by_correlation, im.by_correlation, false);
  auto fail_all = [&](const caf::error& err) {
    for (auto& r : results)
      if (r)
        r = err;
  };
  // Nothing of a refused or failed group is acknowledged; the in-memory
  // head stays put, so positions remain gapless.
  if (auto err = reserve_wal(batch.GetDataSize())) {
    fail_all(err);
    return results;
  }
  if (auto st = im.db->Write(im.write_options(), &batch); !st.ok()) {
    fail_all(write_error("committing appends", st.ToString()));
    return results;
  }
  // Written: the head moves on below, but a group whose sync failed is
  // published (and answered) by no one until a later sync covers it.
  caf::error unsynced;
  if (d == durability::sync)
    unsynced = sync_wal();
  last_hash_ = prev_hash;
  last_time_us_ = time_us;
  if (version_cache_.size() + pending_versions.size() > max_cached_versions)
    version_cache_.clear();
  for (auto& [stream, version] : pending_versions) {
    // Found by view: a string is made only for a stream new to the cache.
    if (auto c = version_cache_.find(stream); c != version_cache_.end())
      c->second = version;
    else
      version_cache_.emplace(std::string{stream}, version);
  }
  written_position_ = next_position - 1;
  if (unsynced) {
    fail_all(
      make_error(billow_errc::storage_unavailable,
                 "written but not confirmed durable: " + detail_of(unsynced)));
    return results;
  }
  if (publish)
    last_position_.store(next_position - 1, std::memory_order_release);
  return results;
}

// -- reads
// -----------------------------------------------------------------------

caf::error event_store::finish_read(envelope& x) const {
  if (upcasters_.empty())
    return caf::none;
  return upcasters_.apply(x);
}

caf::expected<std::vector<envelope>>
event_store::read_stream(std::string_view stream, uint64_t from_version,
                         read_direction dir, size_t max_count) const {
  if (auto err = validate_stream_id(stream))
    return err;
  auto& im = *impl_;
  std::vector<envelope> result;
  std::unique_ptr<rocksdb::Iterator> it{
    im.db->NewIterator(rocksdb::ReadOptions{}, im.cf(cf_streams))};
  auto prefix = std::string{stream} + '\0';
  if (dir == read_direction::forward)
    it->Seek(name_key(stream, from_version));
  else
    it->SeekForPrev(
      name_key(stream, from_version == 0 ? UINT64_MAX : from_version));
  // Collect the visible positions first, then read their events with one
  // batched MultiGet per chunk (sorted lookups that share index and filter
  // block reads) instead of one Get each.
  std::vector<uint64_t> positions;
  for (; it->Valid() && positions.size() < max_count;
       dir == read_direction::forward ? it->Next() : it->Prev()) {
    auto key = as_view(it->key());
    if (key.size() != prefix.size() + 8 || !starts_with(key, prefix))
      break;
    auto pos = get_be64(it->value().data());
    if (pos > last_position()) {
      // Written but not yet durable: invisible until published.
      if (dir == read_direction::forward)
        break;
      continue;
    }
    positions.push_back(pos);
  }
  if (!it->status().ok())
    return storage_error(it->status(), "reading stream");
  constexpr size_t chunk = 128;
  result.resize(positions.size());
  std::vector<std::array<char, 8>> keys(std::min(chunk, positions.size()));
  std::vector<rocksdb::Slice> key_slices(keys.size());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  for (size_t done = 0; done < positions.size(); done += chunk) {
    auto n = std::min(chunk, positions.size() - done);
    for (size_t i = 0; i < n; ++i) {
      auto pos = positions[done + i];
      for (int b = 0; b < 8; ++b)
        keys[i][b] = static_cast<char>(pos >> (56 - 8 * b));
      key_slices[i] = rocksdb::Slice{keys[i].data(), 8};
      values[i].Reset();
    }
    im.db->MultiGet(rocksdb::ReadOptions{}, im.cf(cf_events), n,
                    key_slices.data(), values.data(), statuses.data());
    for (size_t i = 0; i < n; ++i) {
      auto pos = positions[done + i];
      if (!statuses[i].ok())
        return make_error(billow_errc::corruption,
                          "stream index names position " + std::to_string(pos)
                            + " which cannot be read: "
                            + statuses[i].ToString());
      auto& x = result[done + i];
      if (auto err = decode_envelope(as_view(values[i]), x))
        return err;
      if (auto err = finish_read(x))
        return err;
    }
  }
  return result;
}

caf::error
event_store::for_each(uint64_t from, uint64_t to,
                      const std::function<bool(const envelope&)>& fn) const {
  return for_each_taking(from, to, [&fn](envelope& x) {
    return fn(x);
  });
}

caf::error
event_store::for_each_taking(uint64_t from, uint64_t to,
                             const std::function<bool(envelope&)>& fn) const {
  auto& im = *impl_;
  to = std::min(to, last_position());
  if (from > to)
    return caf::none;
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  auto upper = be64(to + 1);
  rocksdb::Slice upper_slice{upper};
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{
    im.db->NewIterator(ro, im.cf(cf_events))};
  envelope x;
  for (it->Seek(be64(from)); it->Valid(); it->Next()) {
    if (auto err = decode_envelope(as_view(it->value()), x))
      return err;
    if (auto err = finish_read(x))
      return err;
    if (!fn(x))
      return caf::none;
  }
  if (!it->status().ok())
    return storage_error(it->status(), "reading the log");
  return caf::none;
}

caf::expected<std::vector<envelope>>
event_store::read_all(uint64_t from_position, size_t max_count) const {
  std::vector<envelope> result;
  if (max_count == 0)
    return result;
  result.reserve(std::min<size_t>(max_count, 4096));
  auto err = for_each(from_position, UINT64_MAX, [&](const envelope& x) {
    result.push_back(x);
    return result.size() < max_count;
  });
  if (err)
    return err;
  return result;
}

caf::expected<envelope> event_store::read_event(uint64_t position) const {
  std::string value;
  auto st = position > last_position() ? rocksdb::Status::NotFound()
                                       : impl_->get_event(position, value);
  if (st.IsNotFound())
    return make_error(billow_errc::not_found,
                      "no event at position " + std::to_string(position));
  if (!st.ok())
    return storage_error(st, "reading event");
  envelope x;
  if (auto err = decode_envelope(value, x))
    return err;
  if (auto err = finish_read(x))
    return err;
  return x;
}

caf::expected<uint64_t>
event_store::stream_version(std::string_view stream) const {
  if (auto err = validate_stream_id(stream))
    return err;
  return impl_->stored_version(stream);
}

namespace {

/// The first position in [lo, hi + 1] whose commit time is >= t (hi + 1 when
/// none): binary search, valid because times never decrease along the log.
caf::expected<uint64_t> first_position_at(const rocksdb::DB& db,
                                          rocksdb::ColumnFamilyHandle* events,
                                          uint64_t lo, uint64_t hi, int64_t t) {
  std::string value;
  auto end = hi + 1;
  while (lo < end) {
    auto mid = lo + (end - lo) / 2;
    auto st = const_cast<rocksdb::DB&>(db).Get(rocksdb::ReadOptions{}, events,
                                               be64(mid), &value);
    if (!st.ok())
      return storage_error(st, "reading event time");
    if (encoded_time_us(value) < t)
      lo = mid + 1;
    else
      end = mid;
  }
  return lo;
}

bool matches(const log_query& q, const envelope& x) {
  return (q.type.empty() || x.type == q.type)
    && (q.actor.empty() || x.actor == q.actor)
    && (q.stream_prefix.empty() || starts_with(x.stream, q.stream_prefix))
    && (!q.correlation_id || x.correlation_id == *q.correlation_id)
    && (!q.time_from_us || x.time_us >= *q.time_from_us)
    && (!q.time_to_us || x.time_us < *q.time_to_us);
}

} // namespace

caf::expected<log_page> event_store::query(const log_query& q) const {
  auto& im = *impl_;
  log_page page;
  if (q.limit == 0)
    return page;
  uint64_t lo = std::max<uint64_t>(q.from_position, 1);
  uint64_t hi = last_position();
  if (q.time_from_us) {
    auto p = first_position_at(*im.db, im.cf(cf_events), lo, hi,
                               *q.time_from_us);
    if (!p)
      return std::move(p.error());
    lo = *p;
  }
  if (q.time_to_us) {
    auto p = first_position_at(*im.db, im.cf(cf_events), lo, hi, *q.time_to_us);
    if (!p)
      return std::move(p.error());
    hi = *p - 1;
  }
  if (lo > hi)
    return page;
  std::string value;
  // Loads position `pos` and keeps it when every filter matches; false when
  // the page is full.
  caf::error err;
  auto take = [&](uint64_t pos) -> bool {
    auto st = im.get_event(pos, value);
    if (!st.ok()) {
      err = storage_error(st, "reading an indexed event");
      return false;
    }
    envelope x;
    if ((err = decode_envelope(value, x)))
      return false;
    if (matches(q, x)) {
      if ((err = finish_read(x)))
        return false;
      page.events.push_back(std::move(x));
    }
    return page.events.size() < q.limit;
  };
  // Walks an index family whose keys are `prefix first_position` and whose
  // values list the entry's further positions (varint deltas).
  auto walk_index = [&](cf_index cf, const std::string& prefix) -> bool {
    std::unique_ptr<rocksdb::Iterator> it{
      im.db->NewIterator(rocksdb::ReadOptions{}, im.cf(cf))};
    auto in_prefix = [&](std::string_view key) {
      return key.size() == prefix.size() + 8 && starts_with(key, prefix);
    };
    // The entry holding `lo` may start before it.
    auto start = prefix + be64(lo);
    it->SeekForPrev(start);
    if (!it->Valid() || !in_prefix(as_view(it->key())))
      it->Seek(start);
    for (; it->Valid(); it->Next()) {
      auto key = as_view(it->key());
      if (!in_prefix(key))
        return true;
      auto pos = get_be64(key.data() + prefix.size());
      auto rest = as_view(it->value());
      for (;;) {
        if (pos > hi)
          return true;
        if (pos >= lo && !take(pos))
          return false;
        if (rest.empty())
          break;
        uint64_t delta = 0;
        if (!get_varint(rest, delta) || delta == 0) {
          err = make_error(billow_errc::corruption,
                           "malformed index entry at position "
                             + std::to_string(pos));
          return false;
        }
        pos += delta;
      }
    }
    if (!it->status().ok())
      err = storage_error(it->status(), "reading an index");
    return true;
  };
  bool exhausted = true;
  if (q.correlation_id) {
    exhausted = walk_index(
      cf_by_correlation,
      std::string(reinterpret_cast<const char*>(q.correlation_id->bytes.data()),
                  16));
  } else if (!q.type.empty()) {
    exhausted = walk_index(cf_by_type, q.type + '\0');
  } else if (!q.actor.empty()) {
    exhausted = walk_index(cf_by_actor, q.actor + '\0');
  } else if (!q.stream_prefix.empty()) {
    // Follow the stream index over every stream with the prefix and keep the
    // `limit` smallest positions in [lo, hi]. Within a stream, positions grow
    // with the version, so a stream is left as soon as it passes the largest
    // kept position.
    std::priority_queue<uint64_t> best;
    size_t more = 0;
    std::unique_ptr<rocksdb::Iterator> it{
      im.db->NewIterator(rocksdb::ReadOptions{}, im.cf(cf_streams))};
    it->Seek(q.stream_prefix);
    while (it->Valid()) {
      auto key = as_view(it->key());
      if (!starts_with(key, q.stream_prefix))
        break;
      auto pos = get_be64(it->value().data());
      if (pos > hi || (best.size() == q.limit && pos > best.top())) {
        if (pos <= hi)
          ++more;
        // Skip the rest of this stream: `stream \x01` sorts after its keys.
        auto next = std::string{key.substr(0, key.size() - 9)} + '\x01';
        it->Seek(next);
        continue;
      }
      if (pos >= lo) {
        best.push(pos);
        if (best.size() > q.limit) {
          best.pop();
          ++more;
        }
      }
      it->Next();
    }
    if (!it->status().ok())
      return storage_error(it->status(), "reading the stream index");
    std::vector<uint64_t> positions;
    while (!best.empty()) {
      positions.push_back(best.top());
      best.pop();
    }
    std::reverse(positions.begin(), positions.end());
    for (auto pos : positions)
      take(pos);
    exhausted = more == 0;
    if (err)
      return err;
    if (!exhausted && !page.events.empty())
      page.next_cursor = page.events.back().position + 1;
    return page;
  } else {
    exhausted = true;
    auto e = for_each(lo, hi, [&](const envelope& x) {
      if (matches(q, x))
        page.events.push_back(x);
      if (page.events.size() >= q.limit) {
        exhausted = x.position >= hi;
        return false;
      }
      return true;
    });
    if (e)
      return e;
  }
  if (err)
    return err;
  if (!exhausted && !page.events.empty())
    page.next_cursor = page.events.back().position + 1;
  return page;
}

// -- snapshots and checkpoints
// ---------------------------------------------------

caf::error event_store::save_snapshot(std::string_view stream, uint64_t version,
                                      std::string_view bytes) {
  auto& im = *impl_;
  auto current = stream_version(stream);
  if (!current)
    return std::move(current.error());
  if (version == 0 || version > *current)
    return make_error(billow_errc::invalid_argument,
                      "snapshot version " + std::to_string(version)
                        + " is not in stream " + std::string{stream}
                        + " (at version " + std::to_string(*current) + ")");
  if (auto old = load_snapshot(stream); old && old->version > version)
    return caf::none;
  std::string value;
  value.reserve(8 + bytes.size());
  put_be64(value, version);
  value.append(bytes);
  rocksdb::WriteBatch batch;
  batch.Put(im.cf(cf_snapshots), as_slice(stream), value);
  if (auto err = write(batch, durability::sync))
    return err;
  return caf::none;
}

caf::expected<snapshot>
event_store::load_snapshot(std::string_view stream) const {
  auto& im = *impl_;
  std::string value;
  auto st = im.db->Get(rocksdb::ReadOptions{}, im.cf(cf_snapshots),
                       as_slice(stream), &value);
  if (st.IsNotFound())
    return make_error(billow_errc::not_found,
                      "no snapshot of " + std::string{stream});
  if (!st.ok())
    return storage_error(st, "loading snapshot");
  if (value.size() < 8)
    return make_error(billow_errc::corruption,
                      "snapshot of " + std::string{stream} + " is truncated");
  return snapshot{get_be64(value.data()), value.substr(8)};
}

caf::error event_store::save_checkpoint(std::string_view name,
                                        uint64_t position, durability d) {
  rocksdb::WriteBatch batch;
  put_checkpoint(batch, name, position);
  return write(batch, d);
}

caf::expected<uint64_t>
event_store::load_checkpoint(std::string_view name) const {
  auto& im = *impl_;
  std::string value;
  auto st = im.db->Get(rocksdb::ReadOptions{}, im.cf(cf_checkpoints),
                       as_slice(name), &value);
  if (st.IsNotFound())
    return make_error(billow_errc::not_found,
                      "no checkpoint named " + std::string{name});
  if (!st.ok())
    return storage_error(st, "loading checkpoint");
  if (value.size() != 8)
    return make_error(billow_errc::corruption,
                      "checkpoint " + std::string{name} + " is malformed");
  return get_be64(value.data());
}

void event_store::put_checkpoint(rocksdb::WriteBatch& batch,
                                 std::string_view name,
                                 uint64_t position) const {
  batch.Put(impl_->cf(cf_checkpoints), as_slice(name), be64(position));
}

caf::error event_store::write(rocksdb::WriteBatch& batch, durability d) {
  if (auto err = reserve_wal(batch.GetDataSize()))
    return err;
  auto st = impl_->db->Write(impl_->write_options(), &batch);
  if (!st.ok())
    return write_error("writing batch", st.ToString());
  if (d == durability::sync)
    return sync_wal();
  return caf::none;
}

rocksdb::ColumnFamilyHandle*
event_store::column_family(std::string_view name) const {
  auto& im = *impl_;
  for (size_t i = 0; i < im.cf_names_all.size(); ++i)
    if (im.cf_names_all[i] == name)
      return im.cfs[i];
  return nullptr;
}

rocksdb::DB& event_store::db() const noexcept {
  return *impl_->db;
}

// -- integrity
// -------------------------------------------------------------------

caf::expected<verify_report> event_store::verify(uint64_t from,
                                                 uint64_t to) const {
  auto& im = *impl_;
  verify_report report;
  from = std::max<uint64_t>(from, 1);
  to = std::min(to, last_position());
  if (from > to)
    return report;
  auto bad = [&](uint64_t pos, std::string why) {
    report.first_bad = pos;
    report.problem = std::move(why);
    return report;
  };
  // The link into the range: the stored hash of the event before `from`.
  hash256 prev{};
  if (from > 1) {
    std::string value;
    auto st = im.get_event(from - 1, value);
    if (!st.ok() || value.size() < 32)
      return bad(from - 1, "missing or unreadable: " + st.ToString());
    std::memcpy(prev.data(), value.data() + value.size() - 32, 32);
  }
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it{
    im.db->NewIterator(ro, im.cf(cf_events))};
  envelope x;
  int64_t last_time = INT64_MIN;
  auto expected_pos = from;
  for (it->Seek(be64(from)); expected_pos <= to; it->Next(), ++expected_pos) {
    if (!it->Valid())
      return bad(expected_pos, "missing");
    auto key = as_view(it->key());
    if (key.size() != 8 || get_be64(key.data()) != expected_pos)
      return bad(expected_pos, "missing (the log has a gap)");
    auto value = as_view(it->value());
    if (!hash_matches(value))
      return bad(expected_pos, "content does not match its hash");
    if (auto err = decode_envelope(value, x))
      return bad(expected_pos, "undecodable: " + to_string(err));
    if (x.position != expected_pos)
      return bad(expected_pos,
                 "envelope names position " + std::to_string(x.position));
    if (x.prev_hash != prev)
      return bad(expected_pos,
                 "prev_hash does not match the hash of the previous event");
    if (x.time_us < last_time)
      return bad(expected_pos, "commit time goes backwards");
    last_time = x.time_us;
    prev = x.hash;
    ++report.checked;
  }
  if (!it->status().ok())
    return storage_error(it->status(), "verifying the log");
  return report;
}

} // namespace billow::events
