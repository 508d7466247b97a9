#include "projections/projection.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "events/errc.hpp"
#include "events/prefetch.hpp"

namespace billow::projections {

projection::projection(std::string name) : name_(std::move(name)) {
  // nop
}

projection::~projection() = default;

std::string projection::column_family() const {
  return fmt::format("proj_{}", name_);
}

std::string projection::checkpoint_name() const {
  return fmt::format("projection.{}", name_);
}

std::string record_key(char prefix, std::string_view id) {
  std::string out;
  out.reserve(2 + id.size());
  out += prefix;
  out += '/';
  out.append(id);
  return out;
}

caf::expected<rocksdb::ColumnFamilyHandle*>
projection::family(const events::event_store& store) const {
  auto* cf = store.column_family(column_family());
  if (cf == nullptr)
    return make_error(billow_errc::invalid_argument,
                      fmt::format("the store was opened without column "
                                  "family {}",
                                  column_family()));
  return cf;
}

caf::error projection::load(const events::event_store& store) {
  auto cf = family(store);
  if (!cf)
    return std::move(cf.error());
  uint64_t checkpoint = 0;
  if (auto cp = store.load_checkpoint(checkpoint_name()))
    checkpoint = *cp;
  else if (errc_of(cp.error()) != billow_errc::not_found)
    return std::move(cp.error());
  std::unique_lock guard{mtx_};
  reset_locked();
  std::unique_ptr<rocksdb::Iterator> it{
    store.db().NewIterator(rocksdb::ReadOptions{}, *cf)};
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = it->key();
    auto value = it->value();
    if (auto err = load_record({key.data(), key.size()},
                               {value.data(), value.size()}))
      return err;
  }
  if (!it->status().ok())
    return make_error(billow_errc::storage_error,
                      fmt::format("reading {}: {}", column_family(),
                                  it->status().ToString()));
  committed_.store(checkpoint, std::memory_order_release);
  applied_.set(checkpoint);
  return caf::none;
}

void projection::apply(const std::vector<events::envelope>& events) {
  apply(std::span<const events::envelope>{events});
}

void projection::apply(std::span<const events::envelope> events) {
  if (events.empty())
    return;
  uint64_t last = position();
  {
    std::unique_lock guard{mtx_};
    for (const auto& ev : events) {
      if (ev.position <= last)
        continue; // catch-up and live may overlap
      apply_locked(ev);
      last = ev.position;
    }
    end_batch_locked();
  }
  applied_.set(last);
}

caf::error projection::commit(events::event_store& store,
                              events::durability d) {
  auto cf = family(store);
  if (!cf)
    return std::move(cf.error());
  // A failed batch is written again ahead of the records changed since:
  // later puts of the same key win within a batch.
  if (!unstored_)
    unstored_ = std::make_unique<rocksdb::WriteBatch>();
  auto& batch = *unstored_;
  uint64_t pos = 0;
  {
    std::unique_lock guard{mtx_};
    pos = position();
    if (pos == committed_position() && batch.Count() == 0)
      return caf::none;
    flush_locked(batch, *cf);
  }
  store.put_checkpoint(batch, checkpoint_name(), pos);
  if (auto err = store.write(batch, d)) {
    storing_.store(false, std::memory_order_release);
    return err;
  }
  // Its memory goes back when it once held a large catch-up.
  if (batch.GetDataSize() > (4u << 20))
    unstored_.reset();
  else
    batch.Clear();
  committed_.store(pos, std::memory_order_release);
  storing_.store(true, std::memory_order_release);
  return caf::none;
}

caf::error projection::catch_up(events::event_store& store,
                                commit_policy commits,
                                const progress_fn& progress) {
  using steady = std::chrono::steady_clock;
  auto target = store.last_position();
  auto start = position();
  if (start >= target)
    return caf::none;
  auto batch_events = std::max<size_t>(commits.events, 1);
  // The clock is read once per this many events, not per event.
  constexpr size_t clock_every_events = 1024;
  // Each batch is applied under the write lock and committed after it.
  std::unique_lock guard{mtx_, std::defer_lock};
  uint64_t last = start;
  size_t in_batch = 0;
  steady::time_point batch_started;
  uint64_t next_progress = start + progress_every_events;
  caf::error failed;
  auto end_batch = [&](bool read_ok) -> caf::error {
    end_batch_locked(); // also after a failed read: readers see it
    guard.unlock();
    in_batch = 0;
    applied_.raise(last);
    if (!read_ok)
      return caf::none;
    if (auto err = commit(store, events::durability::async))
      return err;
    if (progress)
      progress(position() - start, target - start);
    return caf::none;
  };
  auto interval_over = [&] {
    return in_batch % clock_every_events == 0
      && steady::now() - batch_started >= commits.interval;
  };
  auto apply_one = [&](const events::envelope& ev) {
    if (!guard.owns_lock()) {
      guard.lock();
      batch_started = steady::now();
    }
    apply_locked(ev);
    last = ev.position;
    if (++in_batch < batch_events && !interval_over()) {
      if (progress && last >= next_progress) {
        next_progress = last + progress_every_events;
        progress(last - start, target - start);
      }
      return true;
    }
    failed = end_batch(true);
    return !failed;
  };
  // A long way behind, reading and decoding overlap the applying (on a
  // helper thread); a short catch-up is not worth the thread.
  constexpr uint64_t prefetch_from_events = 16'384;
  auto err = target - start >= prefetch_from_events
    ? events::for_each_prefetched(store, start + 1, target, apply_one)
    : store.for_each(start + 1, target, apply_one);
  if (failed)
    return failed;
  if (guard.owns_lock())
    if (auto end_err = end_batch(!err))
      return end_err;
  return err;
}

caf::expected<uint64_t> projection::rebuild(events::event_store& store,
                                            commit_policy commits,
                                            const progress_fn& progress) {
  auto cf = family(store);
  if (!cf)
    return std::move(cf.error());
  {
    std::unique_lock guard{mtx_};
    unstored_.reset();
    rocksdb::WriteBatch batch;
    // Keys are `<letter>/<id>`: everything sorts below \xff.
    batch.DeleteRange(*cf, rocksdb::Slice{}, rocksdb::Slice{"\xff", 1});
    store.put_checkpoint(batch, checkpoint_name(), 0);
    if (auto err = store.write(batch, events::durability::sync))
      return err;
    reset_locked();
    committed_.store(0, std::memory_order_release);
    applied_.set(0);
  }
  if (auto err = catch_up(store, commits, progress))
    return err;
  // Catch-up commits asynchronously; one synced write makes them durable.
  rocksdb::WriteBatch last;
  store.put_checkpoint(last, checkpoint_name(), committed_position());
  if (auto err = store.write(last, events::durability::sync))
    return err;
  return position();
}

namespace {

/// How long a follower keeps applied events uncommitted at most, and how
/// many: a commit is a RocksDB write on a scheduler thread, and one per
/// delivered page was the largest cost of following the log under load
/// (pages are small then). Reads see every applied event at once; what a
/// crash loses of the stored copy is applied again from its checkpoint.
/// Under load the event count decides: at 4,096 events a commit came every
/// ~100 ms and cost about 4% of the server's CPU (each rewrites every record
/// changed since the last); 32,768 events re-apply in well under 100 ms at
/// the next start.
constexpr auto commit_interval = std::chrono::seconds(1);
constexpr uint64_t commit_events = 32'768;

/// Follower -> itself: the commit interval since the first uncommitted
/// event is over.
using commit_due_atom = caf::atom_constant<caf::atom("proj_due")>;

using follower_actor
  = events::subscriber_actor::extend<caf::reacts_to<commit_due_atom>>;

struct follower_state {
  // Not an aggregate on purpose: CAF builds a state from the actor pointer
  // when it can, and C++20 would make this aggregate from it (the pointer
  // turned into `commit_armed = true`).
  follower_state() = default;

  static inline const char* name = "billow.projection_follower";
  /// Whether a `commit_due` is on its way.
  bool commit_armed = false;
};

using follower_ptr = follower_actor::stateful_pointer<follower_state>;

/// Commits, logging the first failure of a run and the success that ends
/// it; false when the commit failed (it is tried again later).
bool commit_logged(events::event_store& store, projection& proj) {
  auto was_storing = proj.storing();
  if (auto err = proj.commit(store, events::durability::async)) {
    if (was_storing)
      spdlog::error("projection {}: cannot store its read model, trying "
                    "again every {} s (reads stay current): {}",
                    proj.name(), commit_interval.count(), caf::to_string(err));
    return false;
  }
  if (!was_storing)
    spdlog::info("projection {}: read model stored again, up to position {}",
                 proj.name(), proj.committed_position());
  return true;
}

/// Applies each delivered page and commits at most every `commit_interval`
/// (or `commit_events`), and once more as it ends. A failed commit is tried
/// again after `commit_interval` with what was applied since.
follower_actor::behavior_type
projection_follower(follower_ptr self, events::event_store* store,
                    const std::shared_ptr<projection>& proj) {
  self->attach_functor([store, proj] {
    commit_logged(*store, *proj);
  });
  auto arm = [self] {
    if (!self->state.commit_armed) {
      self->state.commit_armed = true;
      self->delayed_send(self, commit_interval, commit_due_atom::value);
    }
  };
  return {
    [proj, store, arm](events::deliver_atom,
                       const std::vector<events::envelope>& page) {
      proj->apply(page);
      // While commits fail, only the timer tries again (not every page).
      if (proj->storing()
          && proj->position() - proj->committed_position() >= commit_events
          && commit_logged(*store, *proj))
        return true;
      arm();
      return true;
    },
    [self, store, proj, arm](commit_due_atom) {
      self->state.commit_armed = false;
      if (!commit_logged(*store, *proj))
        arm();
    },
  };
}

} // namespace

caf::expected<events::subscriber_actor>
make_follower(caf::actor_system& sys, events::event_store& store,
              std::shared_ptr<projection> proj) {
  if (auto err = proj->catch_up(store))
    return err;
  auto follower = sys.spawn(projection_follower, &store, std::move(proj));
  return caf::actor_cast<events::subscriber_actor>(follower);
}

caf::expected<events::subscriber_actor>
follow(caf::actor_system& sys, events::event_store& store,
       events::writer_actor writer, std::shared_ptr<projection> proj) {
  auto follower = make_follower(sys, store, proj);
  if (!follower)
    return follower;
  events::subscription_options opts;
  opts.from_position = proj->position() + 1;
  events::subscribe(sys, store, std::move(writer), *follower, opts);
  return follower;
}

} // namespace billow::projections
