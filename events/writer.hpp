#pragma once

// The one writer of the event log: an actor that turns concurrent appends
// into group commits.
//
//   appenders ──append──► [ mailbox: a1 a2 a3 ... flush ] ──► one WriteBatch
//                                                               (sync) ──►
//                                                               replies
//
// State machine (per commit round):
//
//      idle ──append──► collecting ──(self-sent flush reaches the head)──►
//        ▲              (more appends                  committing: write the
//        │               queue behind)                 batch, fsync, reply
//        └──────────────────────────────────────────────┘ to every promise,
//                                                        notify subscriptions
//
// The first append after an idle period sends `flush` to the writer itself;
// it lands behind every append already in the mailbox, so all of them join
// one WriteBatch. Replies go out only after the batch is durable. Spawned
// `detached`: blocking I/O stays off CAF's scheduler threads.
//
// With `sync` durability the commit is pipelined: the writer writes each
// batch without sync (visible to nobody yet: readers see only published
// positions) and a detached syncer fsyncs the WAL. While an fsync runs, the
// writer keeps writing the batches that arrive. The syncer does not wait to
// be asked again: as soon as an fsync ends it starts the next one if more
// has been written meanwhile, and only goes idle when it finds nothing new
// (the writer wakes it with its next write). After each fsync it tells the
// writer how far the log is durable; the writer publishes up to there and
// only then replies:
//
//   writer:  write B1 ── write B2 ── write B3 ── (answer B1) ── write B4 ...
//   syncer:  fsync(B1) ──┬── fsync(B2,B3) ──┬── fsync(B4) ...
//                        └► durable B1      └► durable B3
//
// n appenders that each wait for their reply settle into two halves that
// take turns: one half is fsynced while the other is answered, comes back
// and is written, so the writer's CPU work overlaps the disk's fsync. (An
// earlier version waited, after each fsync, for the answered appenders to
// come back so that one fsync covered all n. That is better only when
// writing n appends takes less time than an fsync; here, on 2 shared cores,
// it was not.) Before the syncer ran by itself, each next fsync waited for
// the writer to read the previous one's answer, often behind a batch it was
// writing: the disk sat idle for about a third of the time.
//
// The writer runs the fsync itself instead of waking the syncer when the
// syncer is idle, every appender it expects back is written and no append
// waits in the mailbox: it has nothing to write meanwhile, and the hop there
// and back costs two thread wake-ups. A lone appender always takes this
// path. An atomic `idle` flag hands the next fsync to exactly one of the
// two (writer_state.hpp).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "events/atoms.hpp"
#include "events/event_store.hpp"

namespace prometheus {
class Registry;
} // namespace prometheus

namespace billow::events {

/// A subscription's interface towards the writer (see subscription.hpp).
using subscription_actor = caf::typed_actor<
  /// The log is committed up to the given position: deliver what is new.
  caf::reacts_to<committed_atom, uint64_t>>;

/// The writer's interface.
using writer_actor = caf::typed_actor<
  /// Appends events to a stream (event_store::append semantics); answers once
  /// the batch holding them is durable.
  caf::replies_to<append_atom, std::string, expected_version,
                  std::vector<new_event>>::with<append_result>,
  /// Appends to several streams at once: each request as `append` would,
  /// but written whole or not at all (append_request::with_next), in one
  /// batch. Answers the last request's result; on a refusal, the refusing
  /// member's error.
  caf::replies_to<append_unit_atom,
                  std::vector<append_request>>::with<append_result>,
  /// Internal: commits everything queued. Sent by the writer to itself.
  caf::reacts_to<flush_atom>,
  /// Internal, from the syncer: the WAL is durable up to the position, or
  /// its fsync failed with the error.
  caf::reacts_to<wal_synced_atom, uint64_t, caf::error>,
  /// Internal, from the store: it takes writes again after a fault.
  caf::reacts_to<storage_resumed_atom>,
  /// Registers a subscription; the writer answers with `committed` messages,
  /// never more than one outstanding per subscription (backpressure).
  caf::reacts_to<subscribe_atom, subscription_actor>,
  /// A subscription delivered everything up to the position and wants more.
  caf::reacts_to<ready_atom, subscription_actor, uint64_t>>;

/// How the writer commits.
struct writer_options {
  /// `sync` (default): reply after the WAL is fsynced.
  events::durability durability = events::durability::sync;
  /// Most appends in one WriteBatch; more wait for the next round.
  size_t max_batch_appends = 1024;
  /// Metrics sink; none when null. Families registered:
  /// `billow_event_appends_total`, `billow_events_appended_total`,
  /// `billow_event_append_errors_total`, `billow_event_commit_batch_appends`
  /// (histogram: appends acknowledged per durable commit, i.e. per fsync in
  /// `sync` mode) and `billow_event_commit_seconds` (histogram: from the
  /// first write of a commit to its durability).
  std::shared_ptr<prometheus::Registry> metrics;
};

/// The writer's helper that fsyncs the WAL (detached, linked to the writer).
using syncer_actor = caf::typed_actor<caf::reacts_to<wal_sync_atom>>;

/// Spawns the writer (detached) over `store`, which must outlive it.
writer_actor make_writer(caf::actor_system& sys, event_store& store,
                         writer_options opts = {});

} // namespace billow::events
