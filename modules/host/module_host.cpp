#include "modules/host/module_host.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <exception>
#include <future>
#include <vector>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/worker_pool.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "modules/sdk/module.hpp"

namespace billow::modules {

namespace {

/// Worker -> host: a hook call ended (empty kind: it succeeded).
using hook_done_atom = caf::atom_constant<caf::atom("hook_done")>;
/// Clock -> host: the backoff of a failed hook is over.
using hook_retry_atom = caf::atom_constant<caf::atom("hook_retry")>;
/// Clock -> host: a hook call ran out of time.
using hook_timeout_atom = caf::atom_constant<caf::atom("hook_tmo")>;
/// Caller -> host: a lifecycle call waits in the inbox.
using lc_kick_atom = caf::atom_constant<caf::atom("lc_kick")>;
/// Worker -> host: a lifecycle call ended (ok, pause hooks after it).
using lc_done_atom = caf::atom_constant<caf::atom("lc_done")>;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

std::string describe(const caf::error& err) {
  auto detail = detail_of(err);
  return detail.empty() ? to_string(errc_of(err)) : detail;
}

} // namespace

/// One lifecycle call waiting for its module's host.
struct module_hosts::lifecycle_call {
  std::vector<sdk::lifecycle_step> steps;
  /// Deliver no more hooks once it succeeded (a deactivation).
  bool pause_after = false;
  std::promise<caf::expected<void>> done;
};

/// Lifecycle calls handed to a host (a queue, so that no custom message
/// type is needed).
struct module_hosts::inbox {
  std::mutex mtx;
  std::deque<std::shared_ptr<lifecycle_call>> calls;
};

namespace {

struct host_state {
  static inline const char* name = "billow.module_host";

  ~host_state() {
    if (ctx != nullptr) {
      ctx->clock->cancel(retry_timer);
      ctx->clock->cancel(timeout_timer);
    }
  }

  const host_context* ctx = nullptr;
  std::shared_ptr<sdk::module> instance;
  std::shared_ptr<hook_counters> counters;
  std::string type;
  std::string module_name;
  /// `module-<type>-<name>` and `module:<Type>/<name>`.
  std::string stream;
  std::string actor;
  std::string checkpoint;
  std::vector<std::string> hooks;
  /// The next position to read from the store.
  uint64_t cursor = 1;
  /// The last committed position the writer announced.
  uint64_t head = 0;
  /// Events read, not yet delivered; the front is in flight or waiting.
  std::deque<events::envelope> pending;
  bool in_flight = false;
  bool waiting = false;
  /// Lifecycle calls: the inbox, whether one runs, whether hooks stopped.
  std::shared_ptr<module_hosts::inbox> inbox;
  bool lifecycle_running = false;
  bool paused = false;
  /// Attempts made at the front event.
  uint32_t attempt = 0;
  actors::timer_id retry_timer = 0;
  /// The hook call in flight: its pool ticket and its timeout.
  actors::ticket running_ticket = 0;
  actors::timer_id timeout_timer = 0;
};

using host_ptr = caf::stateful_actor<host_state>*;

void pump(host_ptr self);

/// Waits `d` on the injected clock, then sends `hook_retry(pos)`.
void retry_later(host_ptr self, uint64_t pos, actors::duration d) {
  auto& st = self->state;
  st.waiting = true;
  caf::actor handle = caf::actor_cast<caf::actor>(self);
  st.retry_timer
    = st.ctx->clock->schedule(st.ctx->clock->now() + d, [handle, pos] {
        caf::anon_send(handle, hook_retry_atom::value, pos);
      });
}

actors::duration backoff(const hook_options& o, uint32_t attempt) {
  auto d = o.first_backoff;
  for (uint32_t i = 1; i < attempt && d < o.max_backoff; ++i)
    d *= 2;
  return std::min(d, o.max_backoff);
}

/// True for the module's own bookkeeping events (never fed back to it).
bool own_noise(const host_state& st, const events::envelope& ev) {
  return ev.stream == st.stream
    && (ev.type == "module.log" || ev.type == "module.log_dropped"
        || ev.type == "module.hook_failed");
}

/// Reads the next events of the module's types after the cursor, through
/// the type index, merged in log order. Answers false on a read error.
bool fetch(host_ptr self) {
  auto& st = self->state;
  auto hi = std::min(st.head, st.ctx->store->last_position());
  if (st.cursor > hi)
    return true;
  auto bound = hi;
  std::vector<events::envelope> found;
  for (const auto& type : st.hooks) {
    events::log_query q;
    q.type = type;
    q.from_position = st.cursor;
    q.limit = std::max<size_t>(1, st.ctx->options.page_size);
    auto page = st.ctx->store->query(q);
    if (!page) {
      spdlog::error("module {}/{}: reading hook events failed: {}", st.type,
                    st.module_name, to_string(page.error()));
      return false;
    }
    if (page->next_cursor && !page->events.empty())
      bound = std::min(bound, page->events.back().position);
    for (auto& ev : page->events)
      if (ev.position <= hi)
        found.push_back(std::move(ev));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.position < b.position;
  });
  for (auto& ev : found)
    if (ev.position <= bound && !own_noise(st, ev))
      st.pending.push_back(std::move(ev));
  st.cursor = bound + 1;
  return true;
}

/// Hands the front event to the worker pool.
void deliver(host_ptr self) {
  auto& st = self->state;
  st.in_flight = true;
  auto attempt = ++st.attempt;
  const auto& ev = st.pending.front();
  sdk::hook_event he;
  he.type = ev.type;
  he.stream = ev.stream;
  he.position = ev.position;
  caf::actor handle = caf::actor_cast<caf::actor>(self);
  auto pos = ev.position;
  st.timeout_timer = st.ctx->clock->schedule(
    st.ctx->clock->now() + st.ctx->options.timeout, [handle, pos, attempt] {
      caf::anon_send(handle, hook_timeout_atom::value, pos, attempt);
    });
  st.running_ticket = st.ctx->pool->submit(
    [handle, he = std::move(he), payload = ev.payload, instance = st.instance,
     store = st.ctx->store, checkpoint = st.checkpoint, attempt]() mutable {
      std::string kind;
      std::string error;
      try {
        boost::system::error_code ec;
        auto doc = boost::json::parse(payload, ec);
        if (!ec && doc.is_object())
          he.payload = std::move(doc.as_object());
        if (auto res = instance->on_event(he); !res) {
          kind = "error";
          error = describe(res.error());
        }
      } catch (const std::exception& ex) {
        kind = "exception";
        error = ex.what();
      } catch (...) {
        kind = "exception";
        error = "a non-standard exception";
      }
      if (kind.empty()) {
        // Not fsynced: losing it to a power cut means one more delivery
        // (at-least-once), never a skipped event.
        if (auto err = store->save_checkpoint(checkpoint, he.position,
                                              events::durability::async))
          spdlog::warn("hook cursor {} not saved: {}", checkpoint,
                       to_string(err));
      }
      caf::anon_send(handle, hook_done_atom::value, he.position, attempt,
                     std::move(kind), std::move(error));
    });
}

/// Records a failed attempt as `module.hook_failed` (asynchronously).
void record_failure(host_ptr self, const events::envelope& ev, uint32_t attempt,
                    const std::string& kind, const std::string& error,
                    int64_t retry_at_us) {
  auto& st = self->state;
  spdlog::warn("module {}/{} hook for {} at {} failed (attempt {}): {}",
               st.type, st.module_name, ev.type, ev.position, attempt, error);
  events::new_event fail;
  fail.event_id = events::uuid::random();
  fail.type = "module.hook_failed";
  fail.actor = st.actor;
  fail.payload = boost::json::serialize(boost::json::object{
    {"position", ev.position},
    {"event_type", ev.type},
    {"event_stream", ev.stream},
    {"attempt", attempt},
    {"kind", kind},
    {"error", error},
    {"retry_at_us", retry_at_us},
  });
  std::vector<events::new_event> batch;
  batch.push_back(std::move(fail));
  self
    ->request(st.ctx->writer, caf::infinite, events::append_atom::value,
              st.stream, events::expected_version::any(), std::move(batch))
    .then([](const events::append_result&) {},
          [self](caf::error& err) {
            spdlog::error("module {}/{}: recording a hook failure failed: {}",
                          self->state.type, self->state.module_name,
                          to_string(err));
          });
}

/// Starts the next waiting lifecycle call on the worker pool; false when
/// none waits.
bool run_lifecycle_call(host_ptr self) {
  auto& st = self->state;
  std::shared_ptr<module_hosts::lifecycle_call> call;
  {
    std::lock_guard guard{st.inbox->mtx};
    if (st.inbox->calls.empty())
      return false;
    call = std::move(st.inbox->calls.front());
    st.inbox->calls.pop_front();
  }
  st.lifecycle_running = true;
  caf::actor handle = caf::actor_cast<caf::actor>(self);
  st.ctx->pool->submit([handle, call, instance = st.instance] {
    // run_lifecycle turns exceptions into module_failure errors.
    auto res = sdk::run_lifecycle(*instance, call->steps);
    bool ok = static_cast<bool>(res);
    call->done.set_value(std::move(res));
    caf::anon_send(handle, lc_done_atom::value, ok, call->pause_after);
  });
  return true;
}

/// The front event's call failed: record it and retry after the backoff.
void failed(host_ptr self, uint32_t attempt, const std::string& kind,
            const std::string& error) {
  auto& st = self->state;
  st.counters->failures.fetch_add(1);
  auto wait = backoff(st.ctx->options, attempt);
  auto at = st.ctx->clock->now() + wait;
  record_failure(self, st.pending.front(), attempt, kind, error,
                 actors::to_us(at));
  retry_later(self, st.pending.front().position, wait);
}

void pump(host_ptr self) {
  auto& st = self->state;
  if (st.in_flight || st.lifecycle_running)
    return;
  // Lifecycle calls go first; a hook call never runs beside one.
  if (run_lifecycle_call(self))
    return;
  if (st.waiting || st.paused)
    return;
  while (st.pending.empty()
         && st.cursor <= std::min(st.head, st.ctx->store->last_position())) {
    if (!fetch(self)) {
      retry_later(self, 0, st.ctx->options.first_backoff);
      return;
    }
  }
  if (!st.pending.empty())
    deliver(self);
}

caf::behavior host_impl(host_ptr self, const host_context* ctx,
                        std::shared_ptr<module_hosts::inbox> inbox,
                        std::shared_ptr<sdk::module> instance,
                        std::shared_ptr<hook_counters> counters,
                        std::vector<std::string> ids,
                        std::vector<std::string> hooks, uint64_t cursor) {
  auto& st = self->state;
  st.ctx = ctx;
  st.inbox = std::move(inbox);
  st.instance = std::move(instance);
  st.counters = std::move(counters);
  st.type = ids.at(0);
  st.module_name = ids.at(1);
  st.stream = module_catalog::stream_of(st.type, st.module_name);
  st.actor = fmt::format("module:{}/{}", st.type, st.module_name);
  st.checkpoint = module_hosts::checkpoint_of(st.type, st.module_name);
  st.hooks = std::move(hooks);
  st.cursor = cursor;
  if (!st.hooks.empty())
    self->send(ctx->writer, events::subscribe_atom::value,
               caf::actor_cast<events::subscription_actor>(self));
  return {
    [self](events::committed_atom, uint64_t upto) {
      auto& st = self->state;
      st.head = std::max(st.head, upto);
      // Acknowledged at once: the host reads what it needs from the store.
      self->send(st.ctx->writer, events::ready_atom::value,
                 caf::actor_cast<events::subscription_actor>(self), upto);
      pump(self);
    },
    [self](hook_done_atom, uint64_t pos, uint32_t attempt, std::string& kind,
           std::string& error) {
      auto& st = self->state;
      if (!st.in_flight || st.pending.empty()
          || st.pending.front().position != pos || st.attempt != attempt)
        return; // a late answer of an abandoned call
      st.in_flight = false;
      st.running_ticket = 0;
      st.ctx->clock->cancel(st.timeout_timer);
      st.timeout_timer = 0;
      if (kind.empty()) {
        st.pending.pop_front();
        st.attempt = 0;
        st.counters->delivered.fetch_add(1);
        st.counters->last_position.store(pos);
        pump(self);
        return;
      }
      failed(self, attempt, kind, error);
    },
    [self](hook_timeout_atom, uint64_t pos, uint32_t attempt) {
      auto& st = self->state;
      if (!st.in_flight || st.pending.empty()
          || st.pending.front().position != pos || st.attempt != attempt)
        return;
      // Its worker is given up (and replaced): the call may still end some
      // day; its answer is then ignored (at-least-once: the event comes
      // again).
      st.ctx->pool->abandon(st.running_ticket);
      st.running_ticket = 0;
      st.timeout_timer = 0;
      st.in_flight = false;
      failed(self, attempt, "timeout",
             fmt::format("hook call exceeded {} ms",
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                           st.ctx->options.timeout)
                           .count()));
    },
    [self](hook_retry_atom, uint64_t) {
      auto& st = self->state;
      if (!st.waiting)
        return;
      st.waiting = false;
      st.retry_timer = 0;
      pump(self); // the failed event is still the front one
    },
    [self](lc_kick_atom) {
      pump(self);
    },
    [self](lc_done_atom, bool ok, bool pause_after) {
      auto& st = self->state;
      st.lifecycle_running = false;
      if (ok && pause_after)
        st.paused = true;
      pump(self);
    },
  };
}

} // namespace

module_hosts::module_hosts(caf::actor_system& sys, host_context ctx)
  : sys_(sys), ctx_(std::move(ctx)) {
  // nop
}

module_hosts::~module_hosts() {
  stop_all();
}

std::string module_hosts::checkpoint_of(const std::string& type,
                                        const std::string& name) {
  return fmt::format("hooks.{}.{}", lower(type), lower(name));
}

void module_hosts::started(const std::string& type, const std::string& name,
                           const std::shared_ptr<sdk::module>& instance,
                           bool fresh) {
  if (!instance)
    return;
  // Module code runs here, on the caller's thread (never a CAF one).
  std::vector<std::string> hooks;
  try {
    hooks = instance->hooks();
  } catch (const std::exception& ex) {
    spdlog::error("module {}/{}: hooks() threw: {}; no hooks", type, name,
                  ex.what());
  } catch (...) {
    spdlog::error("module {}/{}: hooks() threw; no hooks", type, name);
  }
  auto checkpoint = checkpoint_of(type, name);
  uint64_t cursor = 0;
  if (auto cp = ctx_.store->load_checkpoint(checkpoint); cp && !fresh) {
    cursor = *cp + 1;
  } else {
    auto end = ctx_.store->last_position();
    cursor = end + 1;
    if (auto err = ctx_.store->save_checkpoint(checkpoint, end))
      spdlog::warn("hook cursor {} not saved: {}", checkpoint, to_string(err));
  }
  std::lock_guard guard{mtx_};
  if (stopped_)
    return;
  if (auto i = hosts_.find({type, name}); i != hosts_.end()
      && i->second.instance == instance && i->second.with_hooks && !fresh)
    return; // already runs over this very object
  spawn(type, name, instance, std::move(hooks), cursor);
  spdlog::debug("module {}/{}: host started, hooks from position {}", type,
                name, cursor);
}

module_hosts::running&
module_hosts::spawn(const std::string& type, const std::string& name,
                    const std::shared_ptr<sdk::module>& instance,
                    std::vector<std::string> hooks, uint64_t cursor) {
  key k{type, name};
  if (auto i = hosts_.find(k); i != hosts_.end()) {
    caf::anon_send_exit(i->second.handle, caf::exit_reason::user_shutdown);
    hosts_.erase(i);
  }
  auto& counters = counters_[k];
  if (!counters)
    counters = std::make_shared<hook_counters>();
  auto calls = std::make_shared<inbox>();
  bool with_hooks = cursor > 0;
  auto handle = sys_.spawn(host_impl, &ctx_, calls, instance, counters,
                           std::vector<std::string>{type, name},
                           std::move(hooks), cursor);
  return hosts_
    .insert_or_assign(
      k, running{std::move(handle), instance, std::move(calls), with_hooks})
    .first->second;
}

caf::expected<void>
module_hosts::run_lifecycle(const std::string& type, const std::string& name,
                            const std::shared_ptr<sdk::module>& instance,
                            const std::vector<sdk::lifecycle_step>& steps) {
  auto call = std::make_shared<lifecycle_call>();
  call->steps = steps;
  call->pause_after
    = std::any_of(steps.begin(), steps.end(), [](const auto& s) {
        return s.kind == sdk::lifecycle_step::deactivate;
      });
  auto fut = call->done.get_future();
  caf::actor handle;
  {
    std::lock_guard guard{mtx_};
    if (stopped_)
      return make_error(billow_errc::unavailable, "Billow is shutting down");
    auto i = hosts_.find({type, name});
    // A host for this very object, or one made for the call: no hooks yet
    // (`started` follows a successful activation).
    auto& host = i != hosts_.end() && i->second.instance == instance
      ? i->second
      : spawn(type, name, instance, {}, 0);
    {
      std::lock_guard inner{host.calls->mtx};
      host.calls->calls.push_back(call);
    }
    handle = host.handle;
  }
  caf::anon_send(handle, lc_kick_atom::value);
  try {
    return fut.get();
  } catch (const std::future_error&) {
    return make_error(billow_errc::module_failure,
                      fmt::format("module {}/{}: its host stopped before the "
                                  "lifecycle call ran",
                                  type, name));
  }
}

void module_hosts::stopped(const std::string& type, const std::string& name) {
  std::lock_guard guard{mtx_};
  if (auto i = hosts_.find({type, name}); i != hosts_.end()) {
    caf::anon_send_exit(i->second.handle, caf::exit_reason::user_shutdown);
    hosts_.erase(i);
  }
}

void module_hosts::stop_all() {
  std::vector<caf::actor> handles;
  {
    std::lock_guard guard{mtx_};
    if (stopped_)
      return;
    stopped_ = true;
    for (auto& [k, r] : hosts_)
      handles.push_back(r.handle);
    hosts_.clear();
  }
  // Waits, so that no host hands work to the pool once this returns.
  caf::scoped_actor self{sys_};
  for (auto& h : handles) {
    self->send_exit(h, caf::exit_reason::user_shutdown);
    self->wait_for(h);
  }
  ctx_.writer = nullptr; // no actor handle may outlive the actor system
}

caf::actor module_hosts::host_of(const std::string& type,
                                 const std::string& name) const {
  std::lock_guard guard{mtx_};
  if (auto i = hosts_.find({type, name}); i != hosts_.end())
    return i->second.handle;
  return nullptr;
}

size_t module_hosts::size() const {
  std::lock_guard guard{mtx_};
  return hosts_.size();
}

std::shared_ptr<hook_counters> module_hosts::counters(const std::string& type,
                                                      const std::string& name) {
  std::lock_guard guard{mtx_};
  auto& c = counters_[{type, name}];
  if (!c)
    c = std::make_shared<hook_counters>();
  return c;
}

} // namespace billow::modules
