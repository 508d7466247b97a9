#pragma once

// A RocksDB file system that writes zeros ahead of the write-ahead log, so
// that an fsync of the log writes data and nothing else.
//
// Each synced commit ends in fdatasync(2) of the WAL. When the write made
// the file longer (every append to a fresh WAL does), ext4 must also write
// the inode with the new size and block map before the device flush: one
// more I/O waited for in series. With the blocks ahead already written
// (zeros) and inside the file's size, overwriting them changes no metadata,
// and fdatasync waits for the data pages and the flush only. Measured on this
// machine kind: about 30% less time per write + fdatasync. Newer RocksDB
// gets the same from recycled log files, which 7.8 turns off under the
// point-in-time recovery the store uses.
//
// The zeros cost the WAL no correctness: RocksDB's log reader skips a
// zero-filled tail (it is what preallocating writers leave behind), and
// closing the log truncates it to the bytes written.

//
// The same wrapper keeps a WAL fsync from starting after a write to the WAL
// failed (`wal_sync_gate`). RocksDB 7.8 allows `SyncWAL` (which the writer's
// syncer calls on its own thread) beside writes, but a WAL file whose append
// failed must not be synced again: its writer then reports a "previous
// error", and builds with assertions (Debian's) abort the process in
// `AssertFalseAndGetStatusForPrevError`. Nothing outside the file system
// sees the moment an append fails, so the gate lives here:
//
//   syncer:  enter() ─ SyncWAL: checks each file's error ─ Sync() ─ fsync ...
//            (gate held ......................................)│ (released)
//   writer:  append fails ─ write_failed(): waits for the gate, closes it
//
// A syncer holds the gate from its check until RocksDB has checked the
// newest WAL file's error state and calls its Sync (or until SyncWAL
// returns); a failing write closes the gate under it. So either the fsync is
// past its check before the write fails (RocksDB allows that), or it sees
// the gate closed and does not start. After `DB::Resume()` has moved the log
// to a new file, `reopen()` opens the gate again.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include <rocksdb/file_system.h>

namespace billow::events {

/// Whether a WAL fsync may start (see above). Shared by the store and its
/// file system.
class wal_sync_gate {
public:
  /// Before `SyncWAL`: true when it may run; the gate is then held by this
  /// thread until RocksDB syncs the newest WAL file or `leave()`.
  bool enter();

  /// After `SyncWAL` returned (also when it failed).
  void leave();

  /// From the file system: this thread is about to fsync a WAL file,
  /// `newest` when it is the newest one (the one being appended to).
  void syncing(bool newest);

  /// From the file system: a write (or a sync outside `SyncWAL`) to a WAL
  /// file failed. No fsync starts from now on until `reopen()`.
  void write_failed();

  /// The log has moved to a new WAL file (after a successful resume).
  void reopen();

  /// False once a WAL write failed.
  bool open() const noexcept {
    return !failed_.load(std::memory_order_acquire);
  }

private:
  std::timed_mutex mtx_;
  std::atomic<bool> failed_{false};
};

/// What a store shares with its file system.
struct wal_control {
  wal_sync_gate gate;
  /// Makes sure the newest WAL file has zeros written at least `bytes` ahead
  /// of its end; false when the volume has no room for them. The store asks
  /// before each write, so that a full volume refuses the write before
  /// RocksDB appends: an append into zeros already written allocates
  /// nothing and cannot fail for space, and RocksDB never sees the disk
  /// full on its WAL (which stops all writes until `DB::Resume()`).
  std::function<bool(uint64_t bytes)> reserve;
};

/// Wraps `base`, prefilling every WAL file (`*.log`) it creates, reporting
/// its failures to `control->gate` and setting `control->reserve` (when
/// `control` is not null).
std::shared_ptr<rocksdb::FileSystem>
make_wal_prefill_file_system(std::shared_ptr<rocksdb::FileSystem> base,
                             std::shared_ptr<wal_control> control = nullptr);

} // namespace billow::events
