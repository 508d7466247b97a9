#include "events/subscription.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "events/subscription_state.hpp"

namespace billow::events {

namespace {

using subscription_ptr
  = subscription_actor::stateful_pointer<subscription_state>;

/// Delivers the next page, or reports `ready` to the writer when caught up.
void pump(subscription_ptr self) {
  auto& st = self->state;
  if (st.awaiting_subscriber)
    return;
  if (st.cursor > st.committed) {
    self->send(st.writer, ready_atom::value,
               caf::actor_cast<subscription_actor>(self), st.committed);
    return;
  }
  auto page = st.store->read_all(st.cursor, st.opts.page_size);
  if (!page) {
    self->quit(page.error());
    return;
  }
  if (page->empty()) {
    // The writer said committed, the store has nothing: cannot happen with
    // one writer; end rather than spin.
    self->quit(caf::exit_reason::unknown);
    return;
  }
  auto next = page->back().position + 1;
  st.committed = std::max(st.committed, next - 1);
  st.awaiting_subscriber = true;
  self
    ->request(st.subscriber, caf::infinite, deliver_atom::value,
              std::move(*page))
    .then(
      [self, next](bool keep) {
        auto& st = self->state;
        st.awaiting_subscriber = false;
        st.cursor = next;
        if (!keep) {
          self->quit();
          return;
        }
        pump(self);
      },
      [self](caf::error& err) {
        self->quit(std::move(err));
      });
}

subscription_actor::behavior_type
subscription_impl(subscription_ptr self, event_store* store,
                  writer_actor writer, subscriber_actor subscriber,
                  subscription_options opts) {
  auto& st = self->state;
  st.store = store;
  st.writer = std::move(writer);
  st.subscriber = std::move(subscriber);
  st.opts = opts;
  if (st.opts.page_size == 0)
    st.opts.page_size = 1;
  st.cursor = std::max<uint64_t>(opts.from_position, 1);
  st.committed = 0;
  self->monitor(st.subscriber);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.subscriber.address())
      self->quit();
  });
  self->link_to(st.writer);
  self->send(st.writer, subscribe_atom::value,
             caf::actor_cast<subscription_actor>(self));
  return {
    [self](committed_atom, uint64_t upto) {
      auto& st = self->state;
      st.committed = std::max(st.committed, upto);
      pump(self);
    },
  };
}

} // namespace

subscription_actor subscribe(caf::actor_system& sys, event_store& store,
                             writer_actor writer, subscriber_actor subscriber,
                             subscription_options opts) {
  return sys.spawn(subscription_impl, &store, std::move(writer),
                   std::move(subscriber), opts);
}

} // namespace billow::events
