#include "events/writer.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

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
                        .Add({}, prometheus::Histogram::BucketBoundaries{
                                   1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
                                   1024});
  st.commit_seconds = &prometheus::BuildHistogram()
                         .Name("billow_event_commit_seconds")
                         .Help("Time to write and sync one group commit")
                         .Register(reg)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                    0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
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

void flush(writer_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.requests.empty())
    return;
  // Take at most max_batch_appends; the rest waits for the next round.
  auto n = std::min(st.requests.size(), st.opts.max_batch_appends);
  auto start = std::chrono::steady_clock::now();
  auto results = st.store->append_group(
    std::span<const append_request>{st.requests.data(), n},
    st.opts.durability);
  auto elapsed = std::chrono::duration<double>(
                   std::chrono::steady_clock::now() - start)
                   .count();
  uint64_t events = 0;
  uint64_t failed = 0;
  for (size_t i = 0; i < n; ++i) {
    auto& r = results[i];
    if (r) {
      if (!r->duplicate)
        events += r->last_position - r->first_position + 1;
      st.promises[i].deliver(*r);
    } else {
      ++failed;
      st.promises[i].deliver(r.error());
    }
  }
  if (st.appends) {
    st.appends->Increment(static_cast<double>(n));
    st.events_appended->Increment(static_cast<double>(events));
    st.errors->Increment(static_cast<double>(failed));
    st.batch_appends->Observe(static_cast<double>(n));
    st.commit_seconds->Observe(elapsed);
  }
  st.requests.erase(st.requests.begin(), st.requests.begin() + n);
  st.promises.erase(st.promises.begin(), st.promises.begin() + n);
  if (!st.requests.empty()) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
  if (events > 0)
    for (auto& sub : st.subscribers)
      notify(self, sub);
}

writer_actor::behavior_type writer_impl(writer_ptr self, event_store* store,
                                        writer_options opts) {
  self->state.store = store;
  self->state.opts = std::move(opts);
  if (self->state.opts.max_batch_appends == 0)
    self->state.opts.max_batch_appends = 1;
  if (self->state.opts.metrics)
    register_metrics(self->state);
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
    [self](flush_atom) { flush(self); },
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
