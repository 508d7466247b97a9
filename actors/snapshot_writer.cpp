#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/context.hpp"
#include "events/event_store.hpp"

namespace billow::actors {

namespace {

/// Stores each snapshot it is sent. The store comes in as a spawn argument:
/// CAF 0.17.6 dereferences a null argument tuple when a function-based
/// actor is spawned without arguments (UBSan reports it).
caf::behavior snapshot_writer(caf::event_based_actor*,
                              events::event_store* store) {
  return {
    [store](snapshot_atom, const std::string& stream, uint64_t version,
            const std::string& bytes) {
      static_cast<void>(store->save_snapshot(stream, version, bytes));
    },
  };
}

} // namespace

caf::actor make_snapshot_writer(caf::actor_system& sys,
                                events::event_store& store) {
  // Detached: save_snapshot syncs, which must not block a scheduler thread.
  // A failed snapshot only costs a longer rehydration, so errors are dropped.
  return sys.spawn<caf::detached>(snapshot_writer, &store);
}

} // namespace billow::actors
