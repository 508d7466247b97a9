#pragma once

// How an aggregate actor runs one command (see actors/aggregate.hpp for the
// flow). Header-only because it is generic over the actor and state types.

#include <memory>
#include <utility>

#include <caf/send.hpp>

#include "actors/aggregate.hpp"
#include "actors/atoms.hpp"
#include "events/atoms.hpp"

namespace billow::actors {

/// One command in flight: its key, who sends it, what it decides, and what
/// happens once its events are durable and applied.
template <class State>
struct command {
  std::string key;
  std::string actor;
  std::function<decision(const State&, uint64_t version)> decide;
  std::function<void(command_result&)> effects;
  caf::typed_response_promise<command_result> rp;
  /// Called with the error when the command is refused or its append fails
  /// (for callers that answer with something else than `command_result`).
  std::function<void(const caf::error&)> on_error;
  /// Called with the answer whenever the command succeeds, a remembered or
  /// empty one included, after its events are applied (for callers that
  /// answer with more than `command_result`, e.g. the state it left).
  std::function<void(const command_result&)> on_result;
  /// Remaining re-decisions after `wrong_expected_version`.
  int retries = 3;
};

namespace detail {

template <class Self, class State>
void finish(Self* self, aggregate<State>& agg) {
  agg.next();
  if (agg.idle() && agg.passivating)
    self->quit();
}

/// Answers `c` with `res`: its promise and `on_result`.
template <class State>
void succeed(command<State>& c, const command_result& res) {
  if (c.on_result)
    c.on_result(res);
  if (c.rp.pending())
    c.rp.deliver(res);
}

/// Answers `c` with `err`: its promise and `on_error`.
template <class State>
void fail(command<State>& c, caf::error err) {
  if (c.on_error)
    c.on_error(err);
  if (c.rp.pending())
    c.rp.deliver(std::move(err));
}

template <class Self, class State>
void run(Self* self, aggregate<State>* agg, const runtime_context* ctx,
         std::shared_ptr<command<State>> c) {
  if (!c->key.empty())
    if (auto hit = agg->find_key(c->key)) {
      hit->duplicate = true;
      succeed(*c, *hit);
      finish(self, *agg);
      return;
    }
  auto d = c->decide(agg->state, agg->version);
  if (!d) {
    fail(*c, std::move(d.error()));
    finish(self, *agg);
    return;
  }
  if (d->empty()) {
    succeed(*c, command_result{agg->version, {}, false});
    finish(self, *agg);
    return;
  }
  auto evs = std::make_shared<std::vector<domain_event>>(std::move(*d));
  auto news = to_new_events(agg->stream, c->key, c->actor, *evs);
  self
    ->request(ctx->writer, caf::infinite, events::append_atom::value,
              agg->stream, events::expected_version::exact(agg->version),
              std::move(news))
    .then(
      [self, agg, ctx, c, evs](const events::append_result& r) {
        if (r.duplicate) {
          // Stored before (a retry after a crash): take the log's word, and
          // answer as the first time (its version and positions).
          if (auto err = agg->catch_up(*ctx->store))
            fail(*c, std::move(err));
          else
            succeed(*c,
                    command_result{r.version,
                                   json_uuid(evs->back().payload, "job_id"),
                                   true, r.last_position});
          finish(self, *agg);
          return;
        }
        auto v = r.version - evs->size() + 1;
        for (auto& e : *evs)
          agg->apply_one(e.type, e.payload, v++);
        command_result res{r.version, json_uuid(evs->back().payload, "job_id"),
                           false, r.last_position};
        if (c->effects)
          c->effects(res);
        if (agg->snapshot_due(ctx->aggregates) && ctx->snapshots) {
          caf::anon_send(ctx->snapshots, snapshot_atom::value, agg->stream,
                         agg->version, agg->snapshot_bytes());
          agg->snapshot_taken();
        }
        succeed(*c, res);
        finish(self, *agg);
      },
      [self, agg, ctx, c](caf::error& err) {
        if (errc_of(err) == billow_errc::wrong_expected_version
            && c->retries > 0) {
          --c->retries;
          if (auto e2 = agg->catch_up(*ctx->store); !e2) {
            run(self, agg, ctx, c);
            return;
          }
        }
        fail(*c, std::move(err));
        finish(self, *agg);
      });
}

} // namespace detail

/// Runs `c` against `agg` once the commands ahead of it are done.
template <class Self, class State>
void execute(Self* self, aggregate<State>& agg, const runtime_context& ctx,
             command<State> c) {
  auto ptr = std::make_shared<command<State>>(std::move(c));
  auto* a = &agg;
  auto* cx = &ctx;
  agg.exclusive([self, a, cx, ptr] {
    detail::run(self, a, cx, ptr);
  });
}

/// Runs `fn` once the commands ahead of it are done: for a query that must
/// see their outcome (an aggregate whose first events are on their way).
template <class Self, class State, class Fn>
void after_commands(Self* self, aggregate<State>& agg, Fn fn) {
  auto* a = &agg;
  agg.exclusive([self, a, fn = std::move(fn)]() mutable {
    fn();
    detail::finish(self, *a);
  });
}

/// Handles `passivate`: quit now when idle, else once the last command is
/// done.
template <class Self, class State>
void passivate(Self* self, aggregate<State>& agg) {
  agg.passivating = true;
  if (agg.idle())
    self->quit();
}

} // namespace billow::actors
