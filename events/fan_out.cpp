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

  struct consumer {
    /// Untyped: a page is passed on as the message it came in, which the
    /// typed interface cannot express.
    caf::actor handle;
    /// Pages sent to it and not answered yet.
    size_t unanswered = 0;
  };

  std::vector<consumer> consumers;
  /// The subscription's last page, not answered while a consumer is
  /// `fan_out_window` pages behind.
  caf::typed_response_promise<bool> held;
  bool holding = false;
};

using fan_out_ptr = subscriber_actor::stateful_pointer<fan_out_state>;

void drop(fan_out_state& st, const caf::actor_addr& who) {
  auto& xs = st.consumers;
  xs.erase(std::remove_if(xs.begin(), xs.end(),
                          [&](const fan_out_state::consumer& x) {
                            return x.handle.address() == who;
                          }),
           xs.end());
}

/// Answers the held page once no consumer is a full window behind (false,
/// and the end, once none is left).
void release(fan_out_ptr self) {
  auto& st = self->state;
  if (!st.holding)
    return;
  if (st.consumers.empty()) {
    st.holding = false;
    st.held.deliver(false);
    self->quit();
    return;
  }
  for (const auto& c : st.consumers)
    if (c.unanswered >= fan_out_window)
      return;
  st.holding = false;
  st.held.deliver(true);
}

/// Counts one consumer's answer to a page.
void answered(fan_out_ptr self, const caf::actor_addr& who, bool keep) {
  auto& st = self->state;
  for (auto& c : st.consumers)
    if (c.handle.address() == who && c.unanswered > 0)
      --c.unanswered;
  if (!keep)
    drop(st, who);
  release(self);
}

subscriber_actor::behavior_type
fan_out_impl(fan_out_ptr self, std::vector<subscriber_actor> consumers) {
  for (auto& c : consumers) {
    self->monitor(c);
    self->state.consumers.push_back({caf::actor_cast<caf::actor>(c), 0});
  }
  // A consumer that ends leaves at once; one that ends with a page in
  // flight also fails that request (handled there).
  self->set_down_handler([self](caf::down_msg& msg) {
    drop(self->state, msg.source);
    release(self);
    if (self->state.consumers.empty())
      self->quit();
  });
  return {
    [self](deliver_atom,
           const std::vector<envelope>&) -> caf::typed_response_promise<bool> {
      auto& st = self->state;
      auto answer = self->make_response_promise<bool>();
      if (st.consumers.empty()) {
        answer.deliver(false);
        return answer;
      }
      // The page as it came: each consumer's request shares its payload.
      auto page = self->current_mailbox_element()->copy_content_to_message();
      // The answers come later, as messages: nothing here changes the list.
      for (auto& c : st.consumers) {
        ++c.unanswered;
        auto who = c.handle.address();
        self->request(c.handle, caf::infinite, page)
          .then(
            [self, who](bool keep) {
              answered(self, who, keep);
            },
            [self, who](caf::error&) {
              answered(self, who, false);
            });
      }
      st.held = answer;
      st.holding = true;
      release(self);
      return answer;
    },
  };
}

} // namespace

subscriber_actor fan_out(caf::actor_system& sys,
                         std::vector<subscriber_actor> consumers) {
  return sys.spawn(fan_out_impl, std::move(consumers));
}

} // namespace billow::events
