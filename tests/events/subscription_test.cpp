#include "events/subscription.hpp"

#include "events/fan_out.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "tests/events/actor_fixture.hpp"

using namespace billow;
using namespace billow::events;

namespace {

std::vector<new_event> events_of(size_t n) {
  std::vector<new_event> xs;
  for (size_t i = 0; i < n; ++i) {
    new_event x;
    x.event_id = uuid::random();
    x.type = "service.created";
    x.actor = "system";
    x.payload = R"({"n":1})";
    xs.push_back(std::move(x));
  }
  return xs;
}

/// Forwards every page to `sink` and answers `keep`: true asks for more,
/// false leaves after the first page.
/// A consumer that passes pages on to `sink` but answers none of them until
/// it gets `ok`; from then on it answers at once.
caf::behavior held_answers(caf::event_based_actor* self, caf::actor sink) {
  auto held = std::make_shared<std::vector<caf::response_promise>>();
  auto open = std::make_shared<bool>(false);
  return {
    [self, sink, held, open](deliver_atom,
                             std::vector<envelope>& page) -> caf::result<bool> {
      caf::anon_send(sink, std::move(page));
      if (*open)
        return true;
      held->push_back(self->make_response_promise());
      return held->back();
    },
    [held, open](caf::ok_atom) {
      *open = true;
      for (auto& rp : *held)
        rp.deliver(true);
      held->clear();
    },
  };
}

subscriber_actor::behavior_type forwarder(subscriber_actor::pointer,
                                          caf::actor sink, bool keep = true) {
  return {
    [sink = std::move(sink), keep](deliver_atom, std::vector<envelope>& page) {
      caf::anon_send(sink, std::move(page));
      return keep;
    },
  };
}

/// Forwards the first page to `sink` but answers it only when `sink` sends
/// `ready_atom`: a subscriber that stalls.
struct stalling_state {
  caf::typed_response_promise<bool> held;
  bool holding = false;
};

using stalling_actor = subscriber_actor::extend<caf::reacts_to<ready_atom>>;

stalling_actor::behavior_type
stalling(stalling_actor::stateful_pointer<stalling_state> self,
         caf::actor sink) {
  return {
    [self, sink = std::move(sink)](deliver_atom, std::vector<envelope>& page)
      -> caf::typed_response_promise<bool> {
      auto rp = self->make_response_promise<bool>();
      caf::anon_send(sink, std::move(page));
      if (self->state.holding) {
        rp.deliver(true);
        return rp;
      }
      self->state.holding = true;
      self->state.held = rp;
      return rp;
    },
    [self](ready_atom) {
      self->state.held.deliver(true);
    },
  };
}

class subscription_test : public test::writer_fixture {
protected:
  void append_via_writer(caf::scoped_actor& self, const std::string& stream,
                         size_t n) {
    self
      ->request(writer, caf::infinite, append_atom::value, stream,
                expected_version::any(), events_of(n))
      .receive([](const append_result&) {},
               [](caf::error& err) {
                 FAIL() << to_string(err);
               });
  }

  /// Receives pages until `count` envelopes arrived; returns them and the
  /// number of pages.
  std::pair<std::vector<envelope>, size_t> collect(caf::scoped_actor& self,
                                                   size_t count) {
    std::vector<envelope> got;
    size_t pages = 0;
    bool timed_out = false;
    while (got.size() < count && !timed_out)
      self->receive(
        [&](std::vector<envelope>& page) {
          ++pages;
          for (auto& x : page)
            got.push_back(std::move(x));
        },
        caf::after(std::chrono::seconds(10)) >>
          [&] {
            timed_out = true;
          });
    EXPECT_FALSE(timed_out) << "got only " << got.size() << " of " << count;
    return {got, pages};
  }
};

void expect_positions(const std::vector<envelope>& xs, uint64_t first,
                      uint64_t last) {
  ASSERT_EQ(xs.size(), last - first + 1);
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_EQ(xs[i].position, first + i);
}

} // namespace

TEST_F(subscription_test, catches_up_from_a_position_then_follows_live) {
  writer = make_writer(*sys, *store);
  caf::scoped_actor self{*sys};
  append_via_writer(self, "a", 6);
  append_via_writer(self, "b", 4);
  auto sub = sys->spawn(forwarder, caf::actor{self}, true);
  subscription_options opts;
  opts.from_position = 3;
  opts.page_size = 3;
  subscribe(*sys, *store, writer, sub, opts);
  auto [caught_up, pages] = collect(self, 8);
  expect_positions(caught_up, 3, 10);
  EXPECT_GE(pages, 3u);
  append_via_writer(self, "a", 2);
  append_via_writer(self, "c", 1);
  auto [live, live_pages] = collect(self, 3);
  expect_positions(live, 11, 13);
  EXPECT_EQ(live[2].stream, "c");
}

TEST_F(subscription_test, subscription_on_an_empty_log_sees_first_events) {
  writer = make_writer(*sys, *store);
  caf::scoped_actor self{*sys};
  auto sub = sys->spawn(forwarder, caf::actor{self}, true);
  subscribe(*sys, *store, writer, sub);
  append_via_writer(self, "a", 2);
  auto [got, pages] = collect(self, 2);
  expect_positions(got, 1, 2);
}

TEST_F(subscription_test, slow_subscriber_catches_up_from_the_store) {
  writer_options wopts;
  wopts.durability = durability::async;
  writer = make_writer(*sys, *store, wopts);
  caf::scoped_actor self{*sys};
  append_via_writer(self, "a", 1);
  auto sub = sys->spawn(stalling, caf::actor{self});
  subscription_options opts;
  opts.page_size = 1000;
  subscribe(*sys, *store, writer, caf::actor_cast<subscriber_actor>(sub), opts);
  // The subscriber holds its first page unanswered...
  auto [first, first_pages] = collect(self, 1);
  expect_positions(first, 1, 1);
  // ... while 200 separate commits happen. With one note in flight per
  // subscription the writer queues nothing for it meanwhile.
  for (int i = 0; i < 200; ++i)
    append_via_writer(self, "b", 1);
  self->send(sub, ready_atom::value);
  auto [rest, pages] = collect(self, 200);
  expect_positions(rest, 2, 201);
  // The backlog arrived as catch-up pages read from the store, not as one
  // message per commit.
  EXPECT_LE(pages, 3u);
  self->send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_F(subscription_test, a_fan_out_gives_every_consumer_every_page_in_order) {
  writer = make_writer(*sys, *store);
  caf::scoped_actor a{*sys};
  caf::scoped_actor b{*sys};
  caf::scoped_actor leaver{*sys};
  append_via_writer(a, "a", 5);
  auto fan = fan_out(*sys,
                     {sys->spawn(forwarder, caf::actor{a}, true),
                      sys->spawn(forwarder, caf::actor{b}, true),
                      sys->spawn(forwarder, caf::actor{leaver}, false)});
  subscription_options opts;
  opts.page_size = 2;
  subscribe(*sys, *store, writer, fan, opts);
  // Caught up from the store in pages of two, then live.
  auto [caught_a, pages_a] = collect(a, 5);
  expect_positions(caught_a, 1, 5);
  EXPECT_GE(pages_a, 3u);
  auto [caught_b, pages_b] = collect(b, 5);
  expect_positions(caught_b, 1, 5);
  // The consumer that answered false may still get the pages already on
  // their way to it (the fan-out sends ahead), never a later one; the
  // others go on without it.
  auto [left, left_pages] = collect(leaver, 2);
  expect_positions(left, 1, 2);
  append_via_writer(a, "b", 3);
  auto [live_a, live_pages_a] = collect(a, 3);
  expect_positions(live_a, 6, 8);
  auto [live_b, live_pages_b] = collect(b, 3);
  expect_positions(live_b, 6, 8);
  EXPECT_EQ(live_b[2].stream, "b");
  for (bool quiet = false; !quiet;)
    leaver->receive(
      [](std::vector<envelope>& page) {
        for (auto& ev : page)
          EXPECT_LE(ev.position, 5u) << "a live page after leaving";
      },
      caf::after(std::chrono::milliseconds(200)) >>
        [&] {
          quiet = true;
        });
}

TEST_F(subscription_test, a_fan_out_lets_a_busy_consumer_fall_a_window_behind) {
  writer = make_writer(*sys, *store);
  caf::scoped_actor fast{*sys};
  caf::scoped_actor slow_pages{*sys};
  auto slow = sys->spawn(held_answers, caf::actor{slow_pages});
  auto fan = fan_out(*sys,
                     {sys->spawn(forwarder, caf::actor{fast}, true),
                      caf::actor_cast<subscriber_actor>(slow)});
  constexpr size_t events = 3 * fan_out_window;
  append_via_writer(fast, "a", events);
  subscription_options opts;
  opts.page_size = 1;
  subscribe(*sys, *store, writer, fan, opts);
  // While the slow consumer answers nothing, the fast one gets a window of
  // pages ahead, and no more.
  auto [ahead, ahead_pages] = collect(fast, fan_out_window);
  expect_positions(ahead, 1, fan_out_window);
  fast->receive(
    [](std::vector<envelope>& page) {
      ADD_FAILURE() << "page at " << page.front().position
                    << " while a consumer is a window behind";
    },
    caf::after(std::chrono::milliseconds(200)) >> [] {});
  // Once it answers, both get everything, in order.
  caf::anon_send(slow, caf::ok_atom::value);
  auto [rest, rest_pages] = collect(fast, events - fan_out_window);
  expect_positions(rest, fan_out_window + 1, events);
  auto [all_slow, slow_n] = collect(slow_pages, events);
  expect_positions(all_slow, 1, events);
  caf::anon_send_exit(slow, caf::exit_reason::user_shutdown);
}

TEST_F(subscription_test, a_fan_out_ends_when_its_last_consumer_ends) {
  writer = make_writer(*sys, *store);
  caf::scoped_actor self{*sys};
  auto first = sys->spawn(forwarder, caf::actor{self}, true);
  auto second = sys->spawn(forwarder, caf::actor{self}, true);
  auto fan = fan_out(*sys, {first, second});
  subscribe(*sys, *store, writer, fan);
  append_via_writer(self, "a", 1);
  auto [got, pages] = collect(self, 2); // one page each
  expect_positions({got[0]}, 1, 1);
  expect_positions({got[1]}, 1, 1);
  self->monitor(fan);
  self->send_exit(first, caf::exit_reason::user_shutdown);
  // One consumer left: the fan-out goes on.
  append_via_writer(self, "a", 1);
  auto [next, next_pages] = collect(self, 1);
  expect_positions(next, 2, 2);
  self->send_exit(second, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive(
    [&](caf::down_msg& msg) {
      down = msg.source == fan.address();
    },
    caf::after(std::chrono::seconds(10)) >> [] {});
  EXPECT_TRUE(down) << "the fan-out outlived its consumers";
}
