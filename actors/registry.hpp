#pragma once

// The bookkeeping of a registry: which aggregate actors are live, in least
// recently used order, with their last use on the injected clock.
//
//   order_: LRU ──────────────────────────────────► MRU
//           [id a, used t1] [id b, used t2] ... [id z, used tn]   t1 <= t2 ...
//   map_:   id ──► (handle, position in order_)
//
// Because uses only move an entry to the MRU end and time never goes back,
// the LRU end is also the longest idle: passivation pops from the front while
// `last_use + idle <= now`, and the cap evicts from the front too.

#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

#include "actors/clock.hpp"
#include "actors/uuid_hash.hpp"

namespace billow::actors {

/// How a registry keeps its live actors in check.
struct registry_options {
  /// Passivate an actor idle this long (0: never by time).
  duration idle_timeout = std::chrono::minutes{10};
  /// Most live actors; the least recently used goes first (0: no cap).
  size_t max_live = 100'000;
};

/// What a registry did so far.
struct registry_stats {
  uint64_t live = 0;
  uint64_t spawned = 0;
  uint64_t passivated_idle = 0;
  uint64_t evicted_cap = 0;
  /// Ended other than by passivation (dropped from the index).
  uint64_t down = 0;
};

template <class Handle>
class lru_index {
public:
  /// The handle for `id`, marked as used at `now`; null when not live.
  Handle* touch(const events::uuid& id, time_point now) {
    auto i = map_.find(id);
    if (i == map_.end())
      return nullptr;
    i->second.pos->second = now;
    order_.splice(order_.end(), order_, i->second.pos);
    return &i->second.handle;
  }

  /// Adds a live actor used at `now`.
  void insert(const events::uuid& id, Handle h, time_point now) {
    order_.emplace_back(id, now);
    map_.emplace(id, entry{std::move(h), std::prev(order_.end())});
  }

  /// Removes and returns the least recently used actor.
  std::optional<std::pair<events::uuid, Handle>> pop_lru() {
    if (order_.empty())
      return std::nullopt;
    auto id = order_.front().first;
    order_.pop_front();
    auto i = map_.find(id);
    auto h = std::move(i->second.handle);
    map_.erase(i);
    return std::make_pair(id, std::move(h));
  }

  /// When the least recently used actor was last used.
  std::optional<time_point> oldest_use() const {
    if (order_.empty())
      return std::nullopt;
    return order_.front().second;
  }

  /// Forgets `id` when its handle has address `addr` (an actor that went
  /// down); answers whether it did.
  template <class Addr>
  bool erase_if_addr(const events::uuid& id, const Addr& addr) {
    auto i = map_.find(id);
    if (i == map_.end() || i->second.handle.address() != addr)
      return false;
    order_.erase(i->second.pos);
    map_.erase(i);
    return true;
  }

  size_t size() const noexcept {
    return map_.size();
  }

private:
  using order_list = std::list<std::pair<events::uuid, time_point>>;
  struct entry {
    Handle handle;
    typename order_list::iterator pos;
  };
  order_list order_;
  std::unordered_map<events::uuid, entry, uuid_hash> map_;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, registry_stats& x) {
  return f(x.live, x.spawned, x.passivated_idle, x.evicted_cap, x.down);
}

} // namespace billow::actors
