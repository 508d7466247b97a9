#include "projections/directory_follower.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "events/event_store.hpp"

namespace billow::projections {

caf::error
replay_type(const events::event_store& store, std::string_view type,
            uint64_t last,
            const std::function<void(const events::envelope&)>& apply) {
  events::log_query q;
  q.type = std::string{type};
  q.limit = 1000;
  for (;;) {
    auto page = store.query(q);
    if (!page)
      return std::move(page.error());
    for (const auto& ev : page->events)
      if (ev.position <= last)
        apply(ev);
    if (!page->next_cursor || *page->next_cursor > last)
      return caf::none;
    q.from_position = *page->next_cursor;
  }
}

namespace {

/// Applies each delivered page, event by event.
events::subscriber_actor::behavior_type
log_follower_impl(events::subscriber_actor::pointer,
                  const std::function<void(const events::envelope&)>& apply) {
  return {
    [apply](events::deliver_atom, const std::vector<events::envelope>& page) {
      for (const auto& ev : page)
        apply(ev);
      return true;
    },
  };
}

} // namespace

events::subscriber_actor
log_follower(caf::actor_system& sys,
             std::function<void(const events::envelope&)> apply) {
  return sys.spawn(log_follower_impl, std::move(apply));
}

} // namespace billow::projections
