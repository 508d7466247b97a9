#pragma once

// The message vocabulary of events/: atoms used by the writer and the
// subscription actors. Kept in billow::events (never import `caf` wholesale:
// CAF defines many atoms of its own). Every type sent in these messages has
// its `inspect` overload next to its definition in events/.

#include <caf/atom.hpp>

namespace billow::events {

/// Asks the writer to append (stream, expected_version, events).
using append_atom = caf::atom_constant<caf::atom("append")>;

/// The writer's note to itself: commit everything queued so far.
using append_unit_atom = caf::atom_constant<caf::atom("append_all")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;

/// Writer -> its idle syncer: fsync the WAL while more is written.
using wal_sync_atom = caf::atom_constant<caf::atom("walsync")>;

/// Syncer -> writer: the WAL is durable up to a position (or failed).
using wal_synced_atom = caf::atom_constant<caf::atom("walsynced")>;
/// The store takes writes again after a storage fault (to the writer).
using storage_resumed_atom = caf::atom_constant<caf::atom("stresumed")>;

/// Registers a subscription with the writer.
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;

/// Writer -> subscription: the log is committed up to a position.
using committed_atom = caf::atom_constant<caf::atom("committed")>;

/// Subscription -> writer: delivered up to a position, ready for more.
using ready_atom = caf::atom_constant<caf::atom("ready")>;

/// Subscription -> subscriber: a page of envelopes in log order.
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

} // namespace billow::events
