#pragma once

// The client aggregate (stream `client-<uuid>`) and the product aggregate
// (stream `product-<uuid>`), and their registries: one generic actor and
// registry (actors/entity.cpp), with a state each (actors/entity_state.hpp).
//
// Clients:
//
//   none ──create──[client.created]──► client ──erase──[client.erased]──►
//   erased (a second erase writes nothing); query: not_found while none
//
// Products:
//
//   none ──create──[product.created]──► product; erase: invalid_argument
//
// An entity's id is the id of its `*.created` event (the route derives it
// from the caller and the request's Idempotency-Key, random without one). A
// create of an entity that exists decides the same event again: the store
// knows its id and answers the first append's version and positions, so a
// repeated create is answered as the first one was and writes nothing.
// Other commands name their event's id in the command for the same reason.
//
// What the entities' payloads hold is the route's: a client's personal
// fields arrive sealed with its own key (vault/personal_data.hpp), and its
// password's hash is in the credential store (by the created event's id)
// before the command is sent. The states keep what an order needs (a
// client's currency and whether it is erased; a product's name, module and
// prices), so orders ask the aggregates and never fold a stream.

#include <cstdint>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/aggregate.hpp"
#include "actors/atoms.hpp"
#include "actors/registry.hpp"

namespace billow::actors {

/// A command for a client or a product.
enum class entity_op : uint8_t {
  /// `<kind>.created` with `fields` as its payload.
  create,
  /// `client.erased` with `reason` (clients only).
  erase
};

const char* to_string(entity_op x);

/// A command for one client or product (the id travels beside it).
struct entity_command {
  entity_op op = entity_op::create;
  /// create: the created event's payload, the text of a JSON object, as the
  /// route made it (a client's personal fields sealed).
  std::string fields;
  /// erase: why (kept for the audit log).
  std::string reason;
  /// The event's id for commands other than create (nil: random); a create's
  /// is the entity's own id.
  events::uuid event_id;
  /// Who: `admin:<id>`, `client:<id>`, `system`.
  std::string actor = "system";
};

/// A client as an order needs it.
struct client_view {
  events::uuid id;
  uint64_t version = 0;
  /// ISO 4217 code the client pays in.
  std::string currency;
  bool erased = false;
};

/// A product as an order needs it.
struct product_view {
  events::uuid id;
  uint64_t version = 0;
  std::string name;
  /// `Product/<name>`, empty for a product provisioned by hand.
  std::string module;
  /// Its prices as `api/prices.hpp` keeps them: the text of a JSON array.
  std::string prices = "[]";
};

/// The interface of a registry of clients (`View`: client_view) or of
/// products (product_view); every message names its entity.
template <class View>
using entity_registry_actor = caf::typed_actor<
  /// Runs a command; answers once its event is durable. `not_found` (no such
  /// entity), `invalid_argument` (fields that are not an object, or an
  /// operation the kind has not).
  caf::replies_to<ent_cmd_atom, events::uuid,
                  entity_command>::with<command_result>,
  /// The entity as it is now; `not_found` for an unknown id.
  caf::replies_to<query_atom, events::uuid>::with<View>,
  /// Clock -> registry: passivate idle actors.
  caf::reacts_to<sweep_atom>,
  /// An entity actor ended, or could not load its state.
  caf::reacts_to<agg_down_atom, events::uuid, caf::actor_addr>,
  caf::replies_to<stats_atom>::with<registry_stats>>;

using client_registry_actor = entity_registry_actor<client_view>;
using product_registry_actor = entity_registry_actor<product_view>;

/// Spawns the client registry over `ctx` (which must outlive it).
client_registry_actor make_client_registry(caf::actor_system& sys,
                                           const runtime_context& ctx,
                                           registry_options opts = {});

/// Spawns the product registry over `ctx` (which must outlive it).
product_registry_actor make_product_registry(caf::actor_system& sys,
                                             const runtime_context& ctx,
                                             registry_options opts = {});

/// The stream of a client: `client-<uuid>`.
std::string client_stream(const events::uuid& id);

/// The stream of a product: `product-<uuid>`.
std::string product_stream(const events::uuid& id);

// -- inspection (CAF messages)
// -------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entity_command& x) {
  return f(x.op, x.fields, x.reason, x.event_id, x.actor);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_view& x) {
  return f(x.id, x.version, x.currency, x.erased);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_view& x) {
  return f(x.id, x.version, x.name, x.module, x.prices);
}

} // namespace billow::actors
