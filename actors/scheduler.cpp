#include "actors/scheduler.hpp"

#include <map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/aggregate_actor.hpp"
#include "actors/clock.hpp"
#include "actors/scheduler_state.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"

namespace billow::actors {

namespace {

using sched_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

void arm(sched_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.agg.state.entries.find(name);
  if (i == st.agg.state.entries.end() || st.targets.count(name) == 0
      || st.running.count(name) > 0)
    return;
  if (auto t = st.timers.find(name); t != st.timers.end())
    st.ctx->clock->cancel(t->second);
  scheduler_actor me = self;
  st.timers[name]
    = st.ctx->clock->schedule(from_us(i->second.next_due_us()), [me, name] {
        caf::anon_send(me, sched_tick_atom::value, name);
      });
}

void run_due(sched_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.agg.state.entries.find(name);
  auto t = st.targets.find(name);
  if (i == st.agg.state.entries.end() || t == st.targets.end()
      || st.running.count(name) > 0)
    return;
  auto due = i->second.next_due_us();
  if (due > st.ctx->clock->now_us()) {
    arm(self, name);
    return;
  }
  st.timers.erase(name);
  st.running[name] = due;
  self->request(t->second, caf::infinite, sched_tick_atom::value, name, due)
    .then(
      [self, name, due](bool) {
        command<scheduler_data> c;
        c.key = name + "@" + std::to_string(due);
        c.decide = [name, due](const scheduler_data& s, uint64_t) -> decision {
          auto j = s.entries.find(name);
          if (j == s.entries.end() || j->second.next_due_us() != due)
            return std::vector<domain_event>{};
          return std::vector<domain_event>{
            {"schedule.ran", {{"name", name}, {"due_us", due}}}};
        };
        c.effects = [self, name](command_result&) {
          self->state.running.erase(name);
          run_due(self, name); // the next one, or arm for it
        };
        execute(self, self->state.agg, *self->state.ctx, std::move(c));
      },
      [self, name](caf::error&) {
        // Not recorded: the same due time runs again at the next tick.
        auto& st = self->state;
        st.running.erase(name);
        auto& e = st.agg.state.entries[name];
        scheduler_actor me = self;
        st.timers[name] = st.ctx->clock->schedule(
          st.ctx->clock->now()
            + std::chrono::seconds{std::max<uint64_t>(e.interval_s, 1)},
          [me, name] {
            caf::anon_send(me, sched_tick_atom::value, name);
          });
      });
}

scheduler_actor::behavior_type scheduler_impl(sched_ptr self,
                                              const runtime_context* ctx) {
  auto& st = self->state;
  st.ctx = ctx;
  st.agg.stream = "scheduler";
  auto load_err = st.agg.load(*ctx->store);
  return {
    [self, load_err](sched_set_atom, std::string& name, uint64_t interval_s,
                     caf::actor& target) -> caf::result<uint64_t> {
      if (load_err)
        return load_err;
      if (name.empty() || interval_s == 0 || !target)
        return make_error(billow_errc::invalid_argument,
                          "a schedule needs a name, an interval and a target");
      auto& st = self->state;
      st.targets[name] = target;
      auto rp = self->make_response_promise<uint64_t>();
      command<scheduler_data> c;
      auto now_us = st.ctx->clock->now_us();
      c.decide = [name, interval_s, now_us](const scheduler_data& s,
                                            uint64_t) -> decision {
        auto i = s.entries.find(name);
        if (i != s.entries.end() && i->second.interval_s == interval_s)
          return std::vector<domain_event>{};
        return std::vector<domain_event>{
          {"schedule.set",
           {{"name", name}, {"interval_s", interval_s}, {"at_us", now_us}}}};
      };
      execute(self, st.agg, *st.ctx, std::move(c));
      // Answer and arm once the command (if any) is applied.
      st.agg.exclusive([self, rp, name]() mutable {
        rp.deliver(self->state.agg.version);
        run_due(self, name);
        self->state.agg.next();
      });
      return rp;
    },
    [self](sched_tick_atom, std::string& name) {
      run_due(self, name);
    },
    [self](sched_list_atom) {
      std::vector<schedule_view> out;
      for (auto& [name, e] : self->state.agg.state.entries)
        out.push_back(schedule_view{name, e.interval_s, e.last_due_us,
                                    e.next_due_us(), e.runs});
      return out;
    },
  };
}

} // namespace

scheduler_actor make_scheduler(caf::actor_system& sys,
                               const runtime_context& ctx) {
  return sys.spawn(scheduler_impl, &ctx);
}

} // namespace billow::actors
