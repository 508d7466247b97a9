#include "events/writer.hpp"

#include <algorithm>
#include <iterator>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "events/errc.hpp"
#include "events/writer_state.hpp"

namespace billow::events {

namespace {

using writer_ptr = writer_actor::stateful_pointer<writer_state>;

void register_metrics(writer_state& st) {
  auto& reg = *st.opts.metrics;
  st.appends = &prometheus::BuildCounter()
                  .Name("billow_event_appends_total")
                  .Help("Append requests answered by the event writer")
                  .Register(reg)
                  .Add({});
  st.events_appended = &prometheus::BuildCounter()
                          .Name("billow_events_appended_total")
                          .Help("Events committed to the log")
                          .Register(reg)
                          .Add({});
  st.errors = &prometheus::BuildCounter()
                 .Name("billow_event_append_errors_total")
                 .Help("Append requests answered with an error")
                 .Register(reg)
                 .Add({});
  st.batch_appends = &prometheus::BuildHistogram()
                        .Name("billow_event_commit_batch_appends")
                        .Help("Appends per group commit")
                        .Register(reg)
                        .Add({},
                             prometheus::Histogram::BucketBoundaries{
                               1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  st.commit_seconds = &prometheus::BuildHistogram()
                         .Name("billow_event_commit_seconds")
                         .Help("Time to write and sync one group commit")
                         .Register(reg)
                         .Add({},
                              prometheus::Histogram::BucketBoundaries{
                                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                0.01, 0.025, 0.05, 0.1, 0.25, 1});
}

/// Sends a `committed` note to `sub` unless one is in flight or it is
/// already up to date.
void notify(writer_ptr self, writer_state::subscriber& sub) {
  auto last = self->state.store->last_position();
  if (sub.in_flight || sub.acked >= last)
    return;
  sub.in_flight = true;
  self->send(sub.handle, committed_atom::value, last);
}

/// Answers `n` appends and records their metrics as one durable commit.
void acknowledge(
  writer_state& st,
  std::vector<caf::typed_response_promise<append_result>>& promises,
  std::vector<caf::expected<append_result>>& results,
  std::chrono::steady_clock::time_point since, bool& any_events) {
  // Metrics first, so whoever sees a reply also sees it counted.
  uint64_t events = 0;
  uint64_t failed = 0;
  for (auto& r : results) {
    if (!r)
      ++failed;
    else if (!r->duplicate)
      events += r->last_position - r->first_position + 1;
  }
  any_events = events > 0;
  if (st.appends) {
    auto elapsed
      = std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
          .count();
    st.appends->Increment(static_cast<double>(promises.size()));
    st.events_appended->Increment(static_cast<double>(events));
    st.errors->Increment(static_cast<double>(failed));
    st.batch_appends->Observe(static_cast<double>(promises.size()));
    st.commit_seconds->Observe(elapsed);
  }
  for (size_t i = 0; i < promises.size(); ++i) {
    if (!promises[i].pending()) // a unit's member other than its last
      continue;
    if (results[i])
      promises[i].deliver(*results[i]);
    else
      promises[i].deliver(results[i].error());
  }
}

void notify_all(writer_ptr self) {
  for (auto& sub : self->state.subscribers)
    notify(self, sub);
}

using promise_list = std::vector<caf::typed_response_promise<append_result>>;
using result_list = std::vector<caf::expected<append_result>>;

/// Sync mode: appends written and not yet answered.
size_t unsynced_appends(const writer_state& st) {
  size_t n = 0;
  for (auto& g : st.unsynced)
    n += g.promises.size();
  return n;
}

/// Sync mode: answers every written group an fsync up to `target` covers,
/// as one durable commit. The appenders just answered are expected back
/// (see writer.hpp).
void finish_sync(writer_ptr self, uint64_t target) {
  auto& st = self->state;
  st.store->publish(target);
  promise_list promises;
  result_list results;
  auto since = std::chrono::steady_clock::time_point::max();
  while (!st.unsynced.empty() && st.unsynced.front().upto <= target) {
    auto& g = st.unsynced.front();
    since = std::min(since, g.since);
    std::move(g.promises.begin(), g.promises.end(),
              std::back_inserter(promises));
    std::move(g.results.begin(), g.results.end(), std::back_inserter(results));
    st.unsynced.pop_front();
  }
  if (promises.empty())
    return;
  bool any_events = false;
  acknowledge(st, promises, results, since, any_events);
  st.expected_back = promises.size() + unsynced_appends(st);
  if (any_events)
    notify_all(self);
}

/// Sync mode: an fsync failed or was refused (a write to the WAL failed
/// before it, see wal_file_system.hpp). What it would have covered is
/// written but not known to be durable: those appends are answered
/// `storage_unavailable` (a retry with the same event ids stores nothing
/// twice) and stay unpublished until the store resumes (its flush makes
/// them durable, `resumed`) or a later fsync covers them. Appends whose own
/// result is an error keep it. The writer keeps running: appends taken from
/// the mailbox since go on as usual (the store refuses them while it takes
/// no writes).
void fail_sync(writer_ptr self, const caf::error& err) {
  auto& st = self->state;
  finish_sync(self, st.shared->synced.load());
  if (st.unsynced.empty())
    return;
  auto unknown
    = make_error(billow_errc::storage_unavailable,
                 "written but not confirmed durable: " + detail_of(err));
  promise_list promises;
  result_list results;
  auto since = std::chrono::steady_clock::time_point::max();
  for (auto& g : st.unsynced) {
    since = std::min(since, g.since);
    for (size_t i = 0; i < g.promises.size(); ++i) {
      promises.push_back(std::move(g.promises[i]));
      if (g.results[i])
        results.emplace_back(unknown);
      else
        results.push_back(std::move(g.results[i]));
    }
  }
  st.unsynced.clear();
  st.expected_back = 0;
  bool any_events = false;
  acknowledge(st, promises, results, since, any_events);
}

/// The store takes writes again. When nothing waits for an fsync, what is
/// written and unpublished was left by a failed fsync, and the store's
/// resume flushed it to table files: durable, so it is published.
void resumed(writer_ptr self) {
  auto& st = self->state;
  if (!st.shared || !st.unsynced.empty())
    return;
  auto head = st.store->written_position();
  if (head <= st.store->last_position())
    return;
  st.store->publish(head);
  st.shared->written.store(head);
  st.shared->synced.store(head);
  notify_all(self);
}

/// Sync mode: after a write, makes sure an fsync will cover it. The syncer
/// fsyncs again by itself as long as it finds more written than synced, so
/// the writer only wakes it when it is idle. The writer fsyncs itself
/// instead when the syncer is idle, every appender it expects back is
/// written and nothing waits in the mailbox: it has nothing else to do
/// meanwhile, and the hop to the syncer and back costs two thread wake-ups.
void request_sync(writer_ptr self) {
  auto& st = self->state;
  if (st.unsynced.empty())
    return;
  auto& shared = *st.shared;
  auto target = st.unsynced.back().upto;
  // Durable already: nothing new written (refusals, retries of durable
  // events), or the syncer got there and its note is on its way.
  if (auto synced = shared.synced.load(); target <= synced) {
    finish_sync(self, synced);
    return;
  }
  shared.written.store(target);
  bool own = unsynced_appends(st) >= st.expected_back && st.requests.empty()
    && self->mailbox().empty();
  // Whoever turns `idle` off owns the next fsync.
  if (!shared.idle.exchange(false))
    return; // the syncer is at work and will see `written`
  if (!own) {
    self->send(st.syncer, wal_sync_atom::value);
    return;
  }
  auto err = st.store->sync_wal();
  if (!err)
    shared.synced.store(target);
  shared.idle.store(true);
  if (err)
    fail_sync(self, err);
  else
    finish_sync(self, target);
}

void flush(writer_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.requests.empty())
    return;
  // Take at most max_batch_appends; the rest waits for the next round.
  auto n = std::min(st.requests.size(), st.opts.max_batch_appends);
  // A unit is never split between two rounds.
  while (n < st.requests.size() && st.requests[n - 1].with_next)
    ++n;
  auto start = std::chrono::steady_clock::now();
  auto batch = std::span<const append_request>{st.requests.data(), n};
  if (st.opts.durability == durability::sync) {
    written_group g;
    g.results = st.store->append_group_unsynced(batch);
    g.upto = st.store->written_position();
    g.since = start;
    g.promises.assign(std::make_move_iterator(st.promises.begin()),
                      std::make_move_iterator(
                        st.promises.begin() + static_cast<std::ptrdiff_t>(n)));
    st.unsynced.push_back(std::move(g));
  } else {
    auto results = st.store->append_group(batch, st.opts.durability);
    std::vector<caf::typed_response_promise<append_result>> promises(
      std::make_move_iterator(st.promises.begin()),
      std::make_move_iterator(st.promises.begin()
                              + static_cast<std::ptrdiff_t>(n)));
    bool any_events = false;
    acknowledge(st, promises, results, start, any_events);
    if (any_events)
      notify_all(self);
  }
  auto done = static_cast<std::ptrdiff_t>(n);
  st.requests.erase(st.requests.begin(), st.requests.begin() + done);
  st.promises.erase(st.promises.begin(), st.promises.begin() + done);
  if (!st.requests.empty()) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
  // Last: an fsync started now sees whether anything still waits.
  if (st.opts.durability == durability::sync)
    request_sync(self);
}

/// The syncer: woken by the writer, it fsyncs for as long as it finds more
/// written than synced, telling the writer after each fsync what is durable,
/// then goes idle (see request_sync for the hand-over).
syncer_actor::behavior_type
syncer_impl(syncer_actor::pointer self, event_store* store,
            std::shared_ptr<writer_sync_shared> shared) {
  return {
    [self, store, shared](wal_sync_atom) {
      auto writer = caf::actor_cast<writer_actor>(self->current_sender());
      for (;;) {
        auto target = shared->written.load();
        if (target > shared->synced.load()) {
          auto err = store->sync_wal();
          if (err) {
            // Idle before the note: the writer then answers what this
            // fsync would have covered, and may ask for the next one.
            shared->idle.store(true);
            self->send(writer, wal_synced_atom::value, target, err);
            return;
          }
          shared->synced.store(target);
          self->send(writer, wal_synced_atom::value, target, caf::error{});
          continue;
        }
        shared->idle.store(true);
        // The writer may have written after the check above and found the
        // syncer still busy: take that fsync unless the writer took it.
        if (shared->written.load() > shared->synced.load()
            && shared->idle.exchange(false))
          continue;
        return;
      }
    },
  };
}

writer_actor::behavior_type writer_impl(writer_ptr self, event_store* store,
                                        writer_options opts) {
  self->state.store = store;
  self->state.opts = std::move(opts);
  if (self->state.opts.max_batch_appends == 0)
    self->state.opts.max_batch_appends = 1;
  if (self->state.opts.metrics)
    register_metrics(self->state);
  if (self->state.opts.durability == durability::sync) {
    self->state.shared = std::make_shared<writer_sync_shared>();
    // What the store opened with is on disk already.
    self->state.shared->synced = store->last_position();
    self->state.shared->written = store->last_position();
    self->state.syncer = self->spawn<caf::detached + caf::linked>(
      syncer_impl, store, self->state.shared);
  }
  store->on_storage_change([hdl = caf::actor_cast<caf::weak_actor_ptr>(
                              self->ctrl())](storage_state x) {
    if (x != storage_state::ok)
      return;
    if (auto strong = caf::actor_cast<caf::actor>(hdl.lock()))
      caf::anon_send(strong, storage_resumed_atom::value);
  });
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const writer_state::subscriber& s) {
                                return s.handle.address() == msg.source;
                              }),
               subs.end());
  });
  return {
    [self](append_atom, std::string& stream, expected_version expected,
           std::vector<new_event>& events)
      -> caf::typed_response_promise<append_result> {
      auto& st = self->state;
      st.requests.push_back(
        append_request{std::move(stream), expected, std::move(events)});
      st.promises.push_back(self->make_response_promise<append_result>());
      if (!st.flush_scheduled) {
        st.flush_scheduled = true;
        self->send(self, flush_atom::value);
      }
      return st.promises.back();
    },
    [self](append_unit_atom, std::vector<append_request>& unit)
      -> caf::typed_response_promise<append_result> {
      auto& st = self->state;
      auto rp = self->make_response_promise<append_result>();
      if (unit.empty()) {
        rp.deliver(make_error(billow_errc::invalid_argument, "empty unit"));
        return rp;
      }
      for (size_t i = 0; i < unit.size(); ++i) {
        unit[i].with_next = i + 1 < unit.size();
        st.requests.push_back(std::move(unit[i]));
        st.promises.push_back(i + 1 < unit.size()
                                ? caf::typed_response_promise<append_result>{}
                                : rp);
      }
      if (!st.flush_scheduled) {
        st.flush_scheduled = true;
        self->send(self, flush_atom::value);
      }
      return rp;
    },
    [self](flush_atom) {
      flush(self);
    },
    [self](wal_synced_atom, uint64_t target, caf::error& err) {
      if (err)
        fail_sync(self, err);
      else
        finish_sync(self, target);
    },
    [self](storage_resumed_atom) {
      resumed(self);
    },
    [self](subscribe_atom, subscription_actor& sub) {
      self->monitor(sub);
      // The first note tells the subscription where the log ends now; it
      // catches up to there from the store, then reports ready.
      auto& entry = self->state.subscribers.emplace_back();
      entry.handle = std::move(sub);
      entry.in_flight = true;
      self->send(entry.handle, committed_atom::value,
                 self->state.store->last_position());
    },
    [self](ready_atom, const subscription_actor& sub, uint64_t upto) {
      for (auto& s : self->state.subscribers)
        if (s.handle == sub) {
          s.in_flight = false;
          s.acked = upto;
          notify(self, s);
        }
    },
  };
}

} // namespace

writer_actor make_writer(caf::actor_system& sys, event_store& store,
                         writer_options opts) {
  return sys.spawn<caf::detached>(writer_impl, &store, std::move(opts));
}

} // namespace billow::events
