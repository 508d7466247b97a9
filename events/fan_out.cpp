#include "events/fan_out.hpp"

#include <algorithm>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace billow::events {

namespace {

struct fan_out_state {
  static inline const char* name = "billow.fan_out";
  /// Untyped handles: a page is passed on as the message it came in, which
  /// the typed interface cannot express.
  std::vector<caf::actor> consumers;
};

using fan_out_ptr = subscriber_actor::stateful_pointer<fan_out_state>;

/// One page on its way to every consumer.
struct page_round {
  caf::typed_response_promise<bool> answer;
  size_t waiting = 0;
};

void drop(fan_out_state& st, const caf::actor_addr& who) {
  auto& xs = st.consumers;
  xs.erase(std::remove_if(xs.begin(), xs.end(),
                          [&](const caf::actor& x) {
                            return x.address() == who;
                          }),
           xs.end());
}

/// Counts one consumer's answer; answers the page once all are in.
void answered(fan_out_ptr self, const std::shared_ptr<page_round>& round) {
  if (--round->waiting > 0)
    return;
  bool any = !self->state.consumers.empty();
  round->answer.deliver(any);
  if (!any)
    self->quit();
}

subscriber_actor::behavior_type
fan_out_impl(fan_out_ptr self, std::vector<subscriber_actor> consumers) {
  for (auto& c : consumers) {
    self->monitor(c);
    self->state.consumers.push_back(caf::actor_cast<caf::actor>(c));
  }
  // A consumer that ends between pages leaves at once; one that ends with a
  // page in flight also fails that request (handled there).
  self->set_down_handler([self](caf::down_msg& msg) {
    drop(self->state, msg.source);
    if (self->state.consumers.empty())
      self->quit();
  });
  return {
    [self](deliver_atom,
           const std::vector<envelope>&) -> caf::typed_response_promise<bool> {
      auto round = std::make_shared<page_round>();
      round->answer = self->make_response_promise<bool>();
      // The page as it came: each consumer's request shares its payload.
      auto page = self->current_mailbox_element()->copy_content_to_message();
      auto& consumers = self->state.consumers;
      round->waiting = consumers.size();
      if (consumers.empty()) {
        round->answer.deliver(false);
        return round->answer;
      }
      // The answers come later, as messages: nothing here changes the list.
      for (auto& consumer : consumers) {
        auto who = consumer.address();
        self->request(consumer, caf::infinite, page)
          .then(
            [self, round, who](bool keep) {
              if (!keep)
                drop(self->state, who);
              answered(self, round);
            },
            [self, round, who](caf::error&) {
              drop(self->state, who);
              answered(self, round);
            });
      }
      return round->answer;
    },
  };
}

} // namespace

subscriber_actor fan_out(caf::actor_system& sys,
                         std::vector<subscriber_actor> consumers) {
  return sys.spawn(fan_out_impl, std::move(consumers));
}

} // namespace billow::events
