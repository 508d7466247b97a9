#include "actors/billing/billing_scheduler.hpp"

#include <deque>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace billow::billing {

namespace {

using namespace std::chrono_literals;

struct scheduler_state {
  static inline const char* name = "billow.billing_scheduler";
  actors::clock* clock = nullptr;
  std::shared_ptr<const scheduler_options> opts;
  /// Runs asked for while one is under way, answered in turn.
  std::deque<caf::typed_response_promise<run_counts>> waiting;
  bool busy = false;
};

using scheduler_ptr
  = billing_scheduler_actor::stateful_pointer<scheduler_state>;

void run_next(scheduler_ptr self);

/// Ends the run under way with `result` and starts the next one.
void finish(scheduler_ptr self, caf::expected<run_counts> result) {
  auto& st = self->state;
  auto rp = std::move(st.waiting.front());
  st.waiting.pop_front();
  if (result)
    rp.deliver(std::move(*result));
  else
    rp.deliver(std::move(result.error()));
  st.busy = false;
  run_next(self);
}

/// Sends every renewal of `plan`, in order (the account actor decides them
/// one after the other, in the order they arrive), and counts the invoices
/// that were written.
void execute(scheduler_ptr self, run_plan plan) {
  struct tally {
    run_counts counts;
    size_t left = 0;
    caf::error first_error;
  };
  auto t = std::make_shared<tally>();
  t->left = plan.renewals.size();
  if (t->left == 0)
    return finish(self, run_counts{});
  auto done = [self, t] {
    if (--t->left > 0)
      return;
    if (t->first_error)
      return finish(self, t->first_error);
    finish(self, t->counts);
  };
  for (auto& r : plan.renewals) {
    billing_command cmd;
    cmd.op = "invoice.renewal";
    cmd.client_id = events::uuid::parse(r.client_id).value_or(events::uuid{});
    cmd.invoice_id = r.invoice_id;
    cmd.body = r.body();
    cmd.actor = "system";
    cmd.idempotency_key = "renewal:" + events::to_string(r.invoice_id);
    cmd.correlation_id = r.invoice_id;
    self
      ->request(self->state.opts->registry, caf::infinite,
                billing_cmd_atom::value, std::move(cmd))
      .then(
        [t, done](const billing_reply& reply) {
          if (reply.created)
            ++t->counts.invoices_issued;
          done();
        },
        [t, done, service = r.service_id,
         from = r.period_from](caf::error& err) {
          spdlog::warn("billing run: renewal of service {} from {} failed: {}",
                       service, from, caf::to_string(err));
          if (!t->first_error)
            t->first_error = std::move(err);
          done();
        });
  }
}

void run_next(scheduler_ptr self) {
  auto& st = self->state;
  if (st.busy || st.waiting.empty())
    return;
  st.busy = true;
  auto plan = st.opts->plan ? st.opts->plan(st.clock->now_us())
                            : caf::expected<run_plan>{run_plan{}};
  if (!plan)
    return finish(self, std::move(plan.error()));
  execute(self, std::move(*plan));
}

/// On the system clock: the next run by itself.
void arm(scheduler_ptr self) {
  auto& st = self->state;
  if (st.clock->is_manual() || st.opts->every.count() <= 0)
    return;
  st.clock->schedule(st.clock->now() + st.opts->every,
                     [weak = caf::actor_cast<caf::weak_actor_ptr>(self)] {
                       if (auto strong
                           = caf::actor_cast<caf::strong_actor_ptr>(weak))
                         caf::anon_send(caf::actor_cast<caf::actor>(strong),
                                        billing_tick_atom::value);
                     });
}

} // namespace

billing_scheduler_actor make_billing_scheduler(caf::actor_system& sys,
                                               actors::clock& clock,
                                               scheduler_options opts) {
  auto shared = std::make_shared<const scheduler_options>(std::move(opts));
  return sys.spawn<caf::detached>(
    [shared,
     c = &clock](scheduler_ptr self) -> billing_scheduler_actor::behavior_type {
      self->state.clock = c;
      self->state.opts = shared;
      arm(self);
      return {
        [self](billing_run_atom) -> caf::typed_response_promise<run_counts> {
          auto rp = self->make_response_promise<run_counts>();
          self->state.waiting.push_back(rp);
          run_next(self);
          return rp;
        },
        [self](billing_tick_atom) {
          // A run of its own, answered to no one.
          self->state.waiting.emplace_back(
            self->make_response_promise<run_counts>());
          run_next(self);
          arm(self);
        },
      };
    });
}

} // namespace billow::billing
