#include "events/wal_file_system.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace billow::events {

namespace {

/// The gate this thread holds between `enter` and the newest file's sync.
thread_local wal_sync_gate* gate_holder = nullptr;

/// The gate whose `SyncWAL` runs on this thread (between `enter` and
/// `leave`): a sync failing there is RocksDB's own sync-without-flush, which
/// it allows to fail beside writes.
thread_local wal_sync_gate* syncing_with = nullptr;

} // namespace

bool wal_sync_gate::enter() {
  mtx_.lock();
  if (failed_.load(std::memory_order_acquire)) {
    mtx_.unlock();
    return false;
  }
  gate_holder = this;
  syncing_with = this;
  return true;
}

void wal_sync_gate::leave() {
  syncing_with = nullptr;
  if (gate_holder == this) {
    gate_holder = nullptr;
    mtx_.unlock();
  }
}

void wal_sync_gate::syncing(bool newest) {
  if (newest && gate_holder == this) {
    gate_holder = nullptr;
    mtx_.unlock();
  }
}

void wal_sync_gate::write_failed() {
  if (syncing_with == this) {
    failed_.store(true, std::memory_order_release);
    return;
  }
  // A syncer between its check and its fsync finishes that check first. It
  // never waits for a failing write, so the bound only guards against a
  // RocksDB path this reasoning missed: better an unguarded sync than a
  // hung log.
  auto locked = mtx_.try_lock_for(std::chrono::seconds(2));
  failed_.store(true, std::memory_order_release);
  if (locked)
    mtx_.unlock();
}

void wal_sync_gate::reopen() {
  failed_.store(false, std::memory_order_release);
}

namespace {

/// Zeros are written this far ahead of the log's end, a chunk at a time.
constexpr uint64_t prefill_chunk = 1 << 20;

const char zeros[64 << 10] = {};

bool is_wal(const std::string& fname) {
  auto slash = fname.find_last_of('/');
  auto base = slash == std::string::npos ? fname : fname.substr(slash + 1);
  return base.size() > 4 && base.ends_with(".log")
    && std::all_of(base.begin(), base.end() - 4, [](char c) {
           return c >= '0' && c <= '9';
         });
}

/// The number of a WAL file's name (`000042.log` -> 42).
uint64_t wal_number(const std::string& fname) {
  auto slash = fname.find_last_of('/');
  auto base = slash == std::string::npos ? fname : fname.substr(slash + 1);
  return std::stoull(base.substr(0, base.size() - 4));
}

class prefilled_wal_file;

/// What the WAL files of one file system share: the gate, the newest file's
/// number and the newest open file.
struct wal_files {
  /// Null when nobody watches.
  std::shared_ptr<wal_control> control;
  std::atomic<uint64_t> newest{0};
  std::mutex mtx;
  prefilled_wal_file* current = nullptr;
};

/// A WAL file that keeps zeros written ahead of its end (see the header).
/// Filling uses a second descriptor with pwrite, which leaves RocksDB's
/// file offset alone.
class prefilled_wal_file : public rocksdb::FSWritableFileOwnerWrapper {
public:
  prefilled_wal_file(std::unique_ptr<rocksdb::FSWritableFile> file,
                     const std::string& fname,
                     std::shared_ptr<wal_files> shared)
    : FSWritableFileOwnerWrapper(std::move(file)),
      fd_(::open(fname.c_str(), O_WRONLY | O_CLOEXEC)),
      number_(wal_number(fname)), shared_(std::move(shared)) {
    auto newest = shared_->newest.load();
    while (newest < number_
           && !shared_->newest.compare_exchange_weak(newest, number_)) {
      // retry with the value seen
    }
    std::lock_guard guard{shared_->mtx};
    shared_->current = this;
  }

  ~prefilled_wal_file() override {
    {
      std::lock_guard guard{shared_->mtx};
      if (shared_->current == this)
        shared_->current = nullptr;
    }
    if (fd_ >= 0)
      ::close(fd_);
  }

  /// Zeros at least `bytes` ahead of the end (see wal_control::reserve).
  bool reserve(uint64_t bytes) {
    std::lock_guard guard{mtx_};
    return fill_up_to(appended_ + bytes);
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    prefill(data.size());
    return appended(data.size(), target()->Append(data, options, dbg));
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    prefill(data.size());
    return appended(data.size(), target()->Append(data, options, info, dbg));
  }

  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data,
                                     uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    return watched(target()->PositionedAppend(data, offset, options, dbg));
  }

  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    return watched(target()->Truncate(size, options, dbg));
  }

  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return watched(target()->Flush(options, dbg));
  }

  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* dbg) override {
    syncing();
    return watched(target()->Sync(options, dbg));
  }

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    syncing();
    return watched(target()->Fsync(options, dbg));
  }

  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    return watched(target()->RangeSync(offset, nbytes, options, dbg));
  }

  rocksdb::IOStatus Close(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    {
      std::lock_guard guard{shared_->mtx};
      if (shared_->current == this)
        shared_->current = nullptr;
    }
    auto size = target()->GetFileSize(options, dbg);
    auto st = target()->Close(options, dbg);
    std::lock_guard guard{mtx_};
    if (fd_ >= 0) {
      // No zeros stay behind a clean close (RocksDB trims its own
      // preallocation the same way).
      if (st.ok() && filled_ > size
          && ::ftruncate(fd_, static_cast<off_t>(size)) != 0)
        st = rocksdb::IOStatus::IOError("truncating the WAL's prefilled tail");
      ::close(fd_);
      fd_ = -1;
    }
    return watched(std::move(st));
  }

private:
  /// Passes `st` on, closing the sync gate first when it is a failure.
  rocksdb::IOStatus watched(rocksdb::IOStatus st) {
    if (!st.ok() && shared_->control)
      shared_->control->gate.write_failed();
    return st;
  }

  /// Counts `n` bytes appended when `st` is fine.
  rocksdb::IOStatus appended(size_t n, rocksdb::IOStatus st) {
    if (st.ok()) {
      std::lock_guard guard{mtx_};
      appended_ += n;
    }
    return watched(std::move(st));
  }

  /// An fsync of this file starts: RocksDB checked its error state.
  void syncing() {
    if (shared_->control)
      shared_->control->gate.syncing(number_ >= shared_->newest.load());
  }

  /// Makes sure zeros lie beyond the `n` bytes about to be appended. A
  /// failure (a full disk, say) only stops the prefilling for now: the
  /// append itself reports what matters.
  void prefill(size_t n) {
    std::lock_guard guard{mtx_};
    fill_up_to(appended_ + n);
  }

  /// Writes zeros from `filled_` on until they reach past `end` (by one to
  /// two chunks); false when the volume has no room for the part up to
  /// `end`. A new file starts empty and zeros always run ahead of the data,
  /// so filling from `filled_` never writes over data.
  bool fill_up_to(uint64_t end) {
    if (end <= filled_)
      return true;
    if (fd_ < 0)
      return false;
    auto from = filled_;
    auto to = (end / prefill_chunk + 2) * prefill_chunk;
    auto at = from;
    while (at < to) {
      auto len = std::min<uint64_t>(sizeof zeros, to - at);
      auto wrote = ::pwrite(fd_, zeros, len, static_cast<off_t>(at));
      if (wrote <= 0)
        break;
      at += static_cast<uint64_t>(wrote);
    }
    if (at > from) {
      // Start writing the zeros out now, so that the next fsync finds them
      // mostly on disk already.
      ::sync_file_range(fd_, static_cast<off_t>(from),
                        static_cast<off_t>(at - from), SYNC_FILE_RANGE_WRITE);
      filled_ = at;
    }
    return filled_ >= end;
  }

  /// Guards the fields below: appends run on RocksDB's writing thread,
  /// `reserve` on the store's.
  std::mutex mtx_;
  int fd_;
  /// The file holds zeros (or data) up to here.
  uint64_t filled_ = 0;
  /// Bytes appended by RocksDB.
  uint64_t appended_ = 0;
  uint64_t number_;
  std::shared_ptr<wal_files> shared_;
};

class wal_prefill_fs : public rocksdb::FileSystemWrapper {
public:
  wal_prefill_fs(std::shared_ptr<rocksdb::FileSystem> base,
                 std::shared_ptr<wal_control> control)
    : FileSystemWrapper(std::move(base)),
      shared_(std::make_shared<wal_files>()) {
    shared_->control = std::move(control);
    if (shared_->control)
      shared_->control->reserve =
        [files = std::weak_ptr{shared_}](uint64_t bytes) {
          auto shared = files.lock();
          if (!shared)
            return true;
          std::lock_guard guard{shared->mtx};
          return shared->current == nullptr || shared->current->reserve(bytes);
        };
  }

  static const char* kClassName() {
    return "BillowWalPrefillFileSystem";
  }
  const char* Name() const override {
    return kClassName();
  }

  rocksdb::IOStatus
  NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                  std::unique_ptr<rocksdb::FSWritableFile>* result,
                  rocksdb::IODebugContext* dbg) override {
    auto st = target()->NewWritableFile(fname, options, result, dbg);
    if (st.ok() && is_wal(fname) && !options.use_direct_writes
        && !options.use_mmap_writes)
      *result = std::make_unique<prefilled_wal_file>(std::move(*result), fname,
                                                     shared_);
    return st;
  }

private:
  std::shared_ptr<wal_files> shared_;
};

} // namespace

std::shared_ptr<rocksdb::FileSystem>
make_wal_prefill_file_system(std::shared_ptr<rocksdb::FileSystem> base,
                             std::shared_ptr<wal_control> control) {
  return std::make_shared<wal_prefill_fs>(std::move(base), std::move(control));
}

} // namespace billow::events
