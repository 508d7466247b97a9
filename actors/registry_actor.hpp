#pragma once

// What every registry actor does with its aggregate actors (the service
// registry, the client and product registries): one actor per id, spawned on
// first use and rebuilt from the log, passivated when idle. Header-only
// because it is generic over the registry and actor types; the bookkeeping is
// `lru_index` (actors/registry.hpp).
//
//   message for id ──► live? ──yes──► that actor (marked used now)
//                        │ no
//                        ▼
//   beyond max_live? ──► passivate the least recently used
//                        ▼
//   spawn(id), watched ──► indexed ──► the sweep timer armed
//
//   sweep (clock) ──► passivate every actor idle past idle_timeout, re-arm
//   agg_down(id, addr) ──► drop it when it is still the indexed actor of id
//
// A passivated actor leaves the index before it is told to go, so the next
// message for its id spawns a fresh one while the old one finishes.

#include <optional>
#include <utility>

#include <caf/abstract_actor.hpp>
#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "actors/atoms.hpp"
#include "actors/clock.hpp"
#include "actors/context.hpp"
#include "actors/registry.hpp"
#include "actors/runtime.hpp"

namespace billow::actors {

/// A registry actor's live actors, counters and sweep timer.
template <class Handle>
struct registry_core {
  const runtime_context* ctx = nullptr;
  registry_options opts;
  lru_index<Handle> live;
  registry_stats stats;
  /// The time the sweep timer is set for (none when no timer is pending).
  std::optional<time_point> sweep_at;
  /// Counted in the service actor figures of `ctx->metrics`
  /// (`billow_service_actors_*`): the service registry's actors only.
  bool counted = false;

  runtime_metrics* metrics() const noexcept {
    return counted ? ctx->metrics : nullptr;
  }

  /// The counters, with the live count as it is now.
  registry_stats current_stats() const {
    auto s = stats;
    s.live = live.size();
    return s;
  }
};

/// Sets the clock timer for the next sweep (the oldest use plus the idle
/// timeout), unless one is set or nothing is live.
template <class Self, class Handle>
void arm_sweep(Self* self, registry_core<Handle>& reg) {
  if (reg.opts.idle_timeout.count() <= 0 || reg.sweep_at)
    return;
  auto oldest = reg.live.oldest_use();
  if (!oldest)
    return;
  auto at = *oldest + reg.opts.idle_timeout;
  reg.sweep_at = at;
  auto me = caf::actor_cast<caf::actor>(self);
  reg.ctx->clock->schedule(at, [me] {
    caf::anon_send(me, sweep_atom::value);
  });
}

/// The actor of `id`: the live one, or one `spawn(id)` makes (watched: when it
/// ends, whatever the reason, the registry hears `agg_down`).
template <class Self, class Handle, class Spawn>
Handle route_to(Self* self, registry_core<Handle>& reg, const events::uuid& id,
                Spawn&& spawn) {
  auto now = reg.ctx->clock->now();
  if (auto* h = reg.live.touch(id, now))
    return *h;
  auto* metrics = reg.metrics();
  while (reg.opts.max_live > 0 && reg.live.size() >= reg.opts.max_live) {
    auto lru = reg.live.pop_lru();
    caf::anon_send(lru->second, passivate_atom::value);
    ++reg.stats.evicted_cap;
    if (metrics != nullptr)
      metrics->service_evicted();
  }
  Handle h = spawn(id);
  auto& raw = *caf::actor_cast<caf::abstract_actor*>(h);
  raw.attach_functor([reg_addr = self->address(), id, addr = h.address()] {
    if (auto r = caf::actor_cast<caf::actor>(reg_addr))
      caf::anon_send(r, agg_down_atom::value, id, addr);
  });
  reg.live.insert(id, h, now);
  ++reg.stats.spawned;
  if (metrics != nullptr) {
    metrics->service_spawned();
    metrics->services_live(reg.live.size());
  }
  arm_sweep(self, reg);
  return h;
}

/// Handles `sweep`: passivates every actor idle past the timeout.
template <class Self, class Handle>
void sweep_idle(Self* self, registry_core<Handle>& reg) {
  reg.sweep_at.reset();
  auto now = reg.ctx->clock->now();
  auto* metrics = reg.metrics();
  while (auto oldest = reg.live.oldest_use()) {
    if (*oldest + reg.opts.idle_timeout > now)
      break;
    auto lru = reg.live.pop_lru();
    caf::anon_send(lru->second, passivate_atom::value);
    ++reg.stats.passivated_idle;
    if (metrics != nullptr)
      metrics->service_passivated();
  }
  if (metrics != nullptr)
    metrics->services_live(reg.live.size());
  arm_sweep(self, reg);
}

/// Handles `agg_down`: an actor ended other than by passivation (a load
/// error, an exception), so the next message for `id` spawns a fresh one.
/// An actor that reported its own load error is told to go once it has
/// answered what was routed to it.
template <class Handle>
void drop_down(registry_core<Handle>& reg, const events::uuid& id,
               const caf::actor_addr& addr) {
  if (!reg.live.erase_if_addr(id, addr))
    return;
  if (auto h = caf::actor_cast<caf::actor>(addr))
    caf::anon_send(h, passivate_atom::value);
  ++reg.stats.down;
  if (auto* metrics = reg.metrics()) {
    metrics->service_down();
    metrics->services_live(reg.live.size());
  }
}

} // namespace billow::actors
