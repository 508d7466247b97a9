#pragma once

// The projection framework: a read model built from the log, kept in memory
// for reads and in its own column family (`proj_<name>`) as the durable copy,
// with a checkpoint (`projection.<name>`) written in the same WriteBatch as
// the read-model changes, so that after a crash the stored read model and
// the checkpoint always agree.
//
// Life of a projection: `load` (read model and checkpoint from the store),
// `catch_up` (from the checkpoint to the log's head, committing in batches),
// then `follow` (a subscription applies each page live and commits at most
// every second).
// `rebuild` drops the read model and checkpoint and replays from position 1
// (`billow replay <name>`).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "events/envelope.hpp"
#include "events/event_store.hpp"
#include "events/subscription.hpp"
#include "projections/position_gate.hpp"

namespace rocksdb {
class ColumnFamilyHandle;
class WriteBatch;
} // namespace rocksdb

namespace billow::projections {

/// When a catch-up or rebuild commits what it has applied: after `events`
/// events or `interval` of applying, whichever comes first, and at its end.
struct commit_policy {
  size_t events = 4096;
  std::chrono::steady_clock::duration interval
    = std::chrono::steady_clock::duration::max();
};

/// A rebuild's commits (`billow replay`). Each commit rewrites every record
/// changed since the last one, so on a log where each service has many
/// events, committing by event count wrote the same records again and
/// again (every 200,000 events: each service of a 1M-event log five times).
/// By time instead: a crash loses at most 5 s of replay, and the event
/// bound caps the batch a commit writes (one record per changed service).
inline constexpr commit_policy rebuild_commits{4'000'000,
                                               std::chrono::seconds(5)};

/// Events between two progress reports of a catch-up or rebuild, whether
/// or not it commits in between.
inline constexpr uint64_t progress_every_events = 16'384;

/// Progress of a catch-up or rebuild: events applied so far and the target
/// position. It may be called with the projection's write lock held, so it
/// must not read the projection (its positions are fine: they are atomic).
using progress_fn = std::function<void(uint64_t done, uint64_t total)>;

/// A read model built from the log. Subclasses implement the four hooks; the
/// base class owns position, batching, checkpoints and waiting.
class projection {
public:
  explicit projection(std::string name);
  virtual ~projection();

  projection(const projection&) = delete;
  projection& operator=(const projection&) = delete;

  const std::string& name() const noexcept {
    return name_;
  }

  /// The column family of the read model: `proj_<name>`.
  std::string column_family() const;

  /// The checkpoint's name: `projection.<name>`.
  std::string checkpoint_name() const;

  /// The position of the last event applied (0 before any).
  uint64_t position() const noexcept {
    return applied_.position();
  }

  /// The position of the last commit (read model and checkpoint stored).
  uint64_t committed_position() const noexcept {
    return committed_.load(std::memory_order_acquire);
  }

  /// Waits until `position() >= pos` or `timeout` passed; true when reached.
  bool wait_for(uint64_t pos, std::chrono::milliseconds timeout) const {
    return applied_.wait_for(pos, timeout);
  }

  /// The applied position, to wait for it without holding a thread.
  const position_gate& gate() const noexcept {
    return applied_;
  }

  /// Loads the read model and checkpoint stored in `store` (whose column
  /// families must include `column_family()`), replacing what is in memory.
  caf::error load(const events::event_store& store);

  /// Applies `events` (in log order; already applied positions are skipped)
  /// under the write lock.
  void apply(const std::vector<events::envelope>& events);
  void apply(std::span<const events::envelope> events);

  /// Stores every record changed since the last commit and the checkpoint
  /// in one WriteBatch. A batch that failed (a full disk) is kept and
  /// written with the next commit's, so nothing applied is ever left out of
  /// the stored copy: commits may fail and be tried again. One committer at
  /// a time.
  caf::error commit(events::event_store& store, events::durability d);

  /// False while the last commit failed: the stored copy (and the
  /// checkpoint) lag behind what readers see until a commit succeeds.
  bool storing() const noexcept {
    return storing_.load(std::memory_order_acquire);
  }

  /// Applies the log from `position() + 1` to its current head, committing
  /// as `commits` says; readers see each commit's events as it is made.
  caf::error catch_up(events::event_store& store, commit_policy commits = {},
                      const progress_fn& progress = {});

  /// Drops the stored read model and checkpoint (one batch), forgets the
  /// in-memory one, and rebuilds from position 1. Answers the events read.
  caf::expected<uint64_t> rebuild(events::event_store& store,
                                  commit_policy commits = rebuild_commits,
                                  const progress_fn& progress = {});

protected:
  /// Forgets the in-memory read model (write lock held).
  virtual void reset_locked() = 0;
  /// Loads one stored record (write lock held).
  virtual caf::error load_record(std::string_view key, std::string_view value)
    = 0;
  /// Applies one event (write lock held). Called for every event of the log.
  virtual void apply_locked(const events::envelope& ev) = 0;
  /// Ends a run of `apply_locked` calls (a page or a catch-up batch) before
  /// the write lock is released: what readers see must be whole from here
  /// on, so a subclass may defer work such as index updates until then.
  virtual void end_batch_locked() {
    // nop
  }
  /// Puts every record changed since the last flush into `batch` and
  /// forgets that they changed (write lock held).
  virtual void
  flush_locked(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* cf)
    = 0;

  /// Guards the read model: readers take it shared.
  mutable std::shared_mutex mtx_;

private:
  caf::expected<rocksdb::ColumnFamilyHandle*>
  family(const events::event_store& store) const;

  std::string name_;
  position_gate applied_;
  std::atomic<uint64_t> committed_{0};
  std::atomic<bool> storing_{true};
  /// What the last commit failed to write (when it failed), written again
  /// with the next one; only the committer touches it.
  std::unique_ptr<rocksdb::WriteBatch> unstored_;
};

/// Catches `proj` up and keeps it current: a subscription from
/// `position() + 1` applies each page at once and commits what it applied at
/// most 1 s (or 32,768 events) later, and as it stops (durability async:
/// the log is the durable truth, a lost commit is replayed). A failed commit
/// (a full disk) is logged once and tried again every second with what was
/// applied since; reads stay current meanwhile, `storing()` is false, and
/// the next commit that succeeds is logged. Answers the follower actor;
/// send it an exit message to stop. `store` must outlive it.
caf::expected<events::subscriber_actor>
follow(caf::actor_system& sys, events::event_store& store,
       events::writer_actor writer, std::shared_ptr<projection> proj);

/// `follow` without the subscription: catches `proj` up and answers its
/// follower, for a caller that subscribes several followers through one
/// `events::fan_out` from the lowest `position() + 1` among them (a
/// projection skips the events it has applied already).
caf::expected<events::subscriber_actor>
make_follower(caf::actor_system& sys, events::event_store& store,
              std::shared_ptr<projection> proj);

/// One page of a list read from a projection, in list order (the position of
/// each record's first event).
template <class Row>
struct page {
  std::vector<Row> items;
  /// Pass as `after` for the next page; absent at the end.
  std::optional<uint64_t> next_after;
};

/// Key helpers for read models: `<prefix>/<id>`.
std::string record_key(char prefix, std::string_view id);

} // namespace billow::projections
