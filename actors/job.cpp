#include "actors/job.hpp"

#include <exception>
#include <unordered_map>

#include <boost/json/array.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>

#include "actors/aggregate_actor.hpp"
#include "actors/job_state.hpp"
#include "actors/module_port.hpp"
#include "actors/runtime.hpp"
#include "actors/uuid_hash.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"

namespace billow::actors {

const char* to_string(job_status x) {
  switch (x) {
    case job_status::queued: return "queued";
    case job_status::running: return "running";
    case job_status::retrying: return "retrying";
    case job_status::completed: return "completed";
    case job_status::failed: return "failed";
  }
  return "unknown";
}

std::string job_stream(const events::uuid& id) {
  return "job-" + to_string(id);
}

// -- job_state: the pure part
// --------------------------------------------------

namespace {

boost::json::array to_array(const std::vector<std::string>& xs) {
  boost::json::array out;
  for (auto& x : xs)
    out.emplace_back(x);
  return out;
}

std::vector<std::string> strings_of(const boost::json::object& o,
                                    std::string_view key) {
  std::vector<std::string> out;
  if (auto* v = o.if_contains(key); v && v->is_array())
    for (auto& x : v->get_array())
      if (x.is_string())
        out.emplace_back(x.get_string());
  return out;
}

boost::json::object spec_json(const job_view& v) {
  boost::json::object o;
  o["job_id"] = to_string(v.job_id);
  o["module"] = v.module;
  o["method"] = v.method;
  if (!v.service_id.is_nil())
    o["service_id"] = to_string(v.service_id);
  o["input"] = v.input;
  o["tags"] = to_array(v.tags);
  o["policy"] = to_json(v.policy);
  return o;
}

/// A job as it looks when queued from `spec` (status queued, no attempts).
job_view queued_view(const job_spec& spec) {
  job_view v;
  v.job_id = spec.job_id;
  v.module = spec.module;
  v.method = spec.method;
  v.service_id = spec.service_id;
  v.input = spec.input;
  v.tags = spec.tags;
  return v;
}

void spec_from(job_view& v, const boost::json::object& o) {
  v.job_id = json_uuid(o, "job_id");
  v.module = json_string(o, "module");
  v.method = json_string(o, "method");
  v.service_id = json_uuid(o, "service_id");
  v.input = json_string(o, "input");
  v.tags = strings_of(o, "tags");
  if (auto* p = o.if_contains("policy"); p && p->is_object())
    v.policy = policy_from_json(p->get_object());
}

} // namespace

boost::json::object to_json(const job_policy& p) {
  boost::json::object o;
  o["tries"] = p.tries;
  boost::json::array b;
  for (auto x : p.backoff_s)
    b.emplace_back(x);
  o["backoff"] = std::move(b);
  o["timeout"] = p.timeout_s;
  o["max_exceptions"] = p.max_exceptions;
  return o;
}

job_policy policy_from_json(const boost::json::object& o) {
  job_policy p;
  p.tries = static_cast<uint32_t>(json_uint(o, "tries", 3));
  p.backoff_s.clear();
  if (auto* v = o.if_contains("backoff"); v && v->is_array())
    for (auto& x : v->get_array())
      if (x.is_uint64() || x.is_int64())
        p.backoff_s.push_back(static_cast<uint32_t>(x.to_number<uint64_t>()));
  p.timeout_s = static_cast<uint32_t>(json_uint(o, "timeout", 600));
  p.max_exceptions = static_cast<uint32_t>(json_uint(o, "max_exceptions", 2));
  return p;
}

void job_state::apply(job_state& st, std::string_view type,
                      const boost::json::object& p) {
  auto& v = st.view;
  auto attempt = static_cast<uint32_t>(json_uint(p, "attempt"));
  if (type == "job.queued") {
    spec_from(v, p);
    v.status = job_status::queued;
  } else if (type == "job.started") {
    v.status = job_status::running;
    v.attempt = attempt;
    v.attempts_used = attempt - st.attempt_base;
    v.retry_at_us = 0;
  } else if (type == "job.attempt_failed") {
    auto kind = json_string(p, "kind");
    if (kind != "error")
      ++v.exceptions;
    v.failures.push_back(job_failure{attempt, kind, json_string(p, "error")});
  } else if (type == "job.retry_scheduled") {
    v.status = job_status::retrying;
    v.retry_at_us = static_cast<int64_t>(json_uint(p, "at_us"));
  } else if (type == "job.succeeded") {
    v.status = job_status::completed;
    v.result = json_string(p, "result");
  } else if (type == "job.failed") {
    v.status = job_status::failed;
    v.error = json_string(p, "error");
  } else if (type == "job.retried") {
    v.status = job_status::queued;
    st.attempt_base = v.attempt;
    v.attempts_used = 0;
    v.exceptions = 0;
    v.error.clear();
    v.retry_at_us = 0;
  }
}

boost::json::object job_state::to_json() const {
  auto o = spec_json(view);
  o["status"] = static_cast<uint64_t>(view.status);
  o["attempt"] = view.attempt;
  o["attempts_used"] = view.attempts_used;
  o["exceptions"] = view.exceptions;
  o["attempt_base"] = attempt_base;
  boost::json::array fs;
  for (auto& f : view.failures)
    fs.emplace_back(boost::json::object{
      {"attempt", f.attempt}, {"kind", f.kind}, {"error", f.message}});
  o["failures"] = std::move(fs);
  o["result"] = view.result;
  o["error"] = view.error;
  o["retry_at_us"] = view.retry_at_us;
  return o;
}

job_state job_state::from_json(const boost::json::object& o) {
  job_state st;
  spec_from(st.view, o);
  st.view.status = static_cast<job_status>(json_uint(o, "status"));
  st.view.attempt = static_cast<uint32_t>(json_uint(o, "attempt"));
  st.view.attempts_used = static_cast<uint32_t>(json_uint(o, "attempts_used"));
  st.view.exceptions = static_cast<uint32_t>(json_uint(o, "exceptions"));
  st.attempt_base = static_cast<uint32_t>(json_uint(o, "attempt_base"));
  if (auto* v = o.if_contains("failures"); v && v->is_array())
    for (auto& x : v->get_array())
      if (x.is_object()) {
        auto& f = x.get_object();
        st.view.failures.push_back(
          job_failure{static_cast<uint32_t>(json_uint(f, "attempt")),
                      json_string(f, "kind"), json_string(f, "error")});
      }
  st.view.result = json_string(o, "result");
  st.view.error = json_string(o, "error");
  st.view.retry_at_us = static_cast<int64_t>(json_uint(o, "retry_at_us"));
  return st;
}

// -- the job actor
// ---------------------------------------------------------------

namespace {

using job_ptr = job_actor::stateful_pointer<job_actor_state>;

job_view view_of(job_ptr self) {
  auto v = self->state.agg.state.view;
  v.version = self->state.agg.version;
  return v;
}

using job_promise = caf::typed_response_promise<job_view>;

/// Answers the job as it is, `not_found` while it does not exist.
void deliver_view(job_ptr self, job_promise& rp) {
  if (self->state.agg.version == 0)
    rp.deliver(make_error(billow_errc::not_found, self->state.agg.stream));
  else
    rp.deliver(view_of(self));
}

/// A query that arrived while a fresh job's first events are being stored
/// (a service's job is asked for as soon as the service's answer names it):
/// answered by `answer` once they are, not with `not_found`, which would
/// also make the manager drop the job's actor while its attempt runs.
template <class Answer>
job_promise after_start(job_ptr self, Answer answer) {
  auto rp = self->make_response_promise<job_view>();
  after_commands(self, self->state.agg, [rp, answer]() mutable {
    answer(rp);
  });
  return rp;
}

void start_attempt(job_ptr self, uint32_t k, bool resumed);

/// Keeps `billow_jobs{status}` in step with this job's state.
void count_status(job_ptr self) {
  auto& st = self->state;
  if (st.ctx->metrics == nullptr || st.agg.version == 0)
    return;
  auto now = st.agg.state.view.status;
  if (st.counted == now)
    return;
  st.ctx->metrics->job_moved(st.agg.state.view.job_id, st.counted, now);
  st.counted = now;
}

/// Schedules the wake-up for the next attempt at the recorded time.
void schedule_wake(job_ptr self) {
  auto& st = self->state;
  auto& v = st.agg.state.view;
  job_actor handle = self;
  auto next = v.attempt + 1;
  st.wake_timer
    = st.ctx->clock->schedule(from_us(v.retry_at_us), [handle, next] {
        caf::anon_send(handle, job_wake_atom::value, next);
      });
}

/// Tells the manager and every waiting caller that the job is done, then
/// lets this incarnation go.
void finished(job_ptr self) {
  count_status(self);
  auto v = view_of(self);
  for (auto& rp : self->state.awaiting)
    rp.deliver(v);
  self->state.awaiting.clear();
  self->send(self->state.manager, job_done_atom::value, v);
  self->state.active = false;
}

/// Starts or resumes work according to the state (once per incarnation).
void resume(job_ptr self) {
  auto& st = self->state;
  if (st.active || st.agg.version == 0)
    return;
  count_status(self);
  auto& v = st.agg.state.view;
  switch (v.status) {
    case job_status::queued:
      st.active = true;
      start_attempt(self, v.attempt + 1, false);
      break;
    case job_status::running:
      // The attempt was running when the process stopped: at-least-once.
      st.active = true;
      start_attempt(self, v.attempt, true);
      break;
    case job_status::retrying:
      st.active = true;
      schedule_wake(self);
      break;
    default: break;
  }
}

/// Records a failed attempt and decides: retry later or fail for good.
void record_outcome(job_ptr self, uint32_t k, attempt_outcome out) {
  auto& st = self->state;
  command<job_state> c;
  c.actor = "job:" + to_string(st.agg.state.view.job_id);
  auto now_us = st.ctx->clock->now_us();
  c.decide = [k, out, now_us](const job_state& s, uint64_t) -> decision {
    auto& v = s.view;
    if (v.status != job_status::running || v.attempt != k)
      return std::vector<domain_event>{}; // stale: already recorded
    std::vector<domain_event> evs;
    if (out.ok) {
      evs.push_back({"job.succeeded", {{"attempt", k}, {"result", out.text}}});
      return evs;
    }
    evs.push_back({"job.attempt_failed",
                   {{"attempt", k}, {"kind", out.kind}, {"error", out.text}}});
    auto used = k - s.attempt_base;
    auto exceptions = v.exceptions + (out.kind == "error" ? 0u : 1u);
    auto& p = v.policy;
    if (used >= p.tries) {
      evs.push_back(
        {"job.failed",
         {{"attempt", k}, {"reason", "tries_exhausted"}, {"error", out.text}}});
    } else if (p.max_exceptions > 0 && exceptions >= p.max_exceptions) {
      evs.push_back(
        {"job.failed",
         {{"attempt", k}, {"reason", "max_exceptions"}, {"error", out.text}}});
    } else {
      auto wait_us = int64_t{p.backoff_after(used)} * 1'000'000;
      evs.push_back({"job.retry_scheduled",
                     {{"attempt", k + 1}, {"at_us", now_us + wait_us}}});
    }
    return evs;
  };
  c.effects = [self](command_result&) {
    count_status(self);
    auto& v = self->state.agg.state.view;
    if (v.terminal())
      finished(self);
    else if (v.status == job_status::retrying)
      schedule_wake(self);
  };
  execute(self, st.agg, *st.ctx, std::move(c));
}

/// Hands attempt `k` (its `job.started` is durable) to the worker pool. The
/// timeout is armed once a worker picks it up (`attempt_begun`): waiting for
/// a free worker is not part of the attempt.
void launch(job_ptr self, uint32_t k, uint64_t started_at) {
  auto& st = self->state;
  auto& v = st.agg.state.view;
  job_call call{v.job_id,     k,       v.module, v.method,
                v.service_id, v.input, v.tags,   started_at};
  job_actor handle = self;
  auto* port = st.ctx->modules;
  if (st.ctx->metrics != nullptr)
    st.ctx->metrics->job_attempt();
  auto label = fmt::format("job {} attempt {} ({} {})", to_string(v.job_id), k,
                           v.module, v.method);
  st.running_ticket = st.ctx->pool->submit(
    [port, call, handle] {
      // Reports go through the pool's gate: none after its shutdown.
      worker_pool::deliver([&] {
        caf::anon_send(handle, attempt_begun_atom::value, call.attempt);
      });
      attempt_outcome out;
      try {
        if (port == nullptr) {
          out.kind = "error";
          out.text = "no module port";
        } else if (auto r = port->run_job(call)) {
          out.ok = true;
          out.text = std::move(*r);
        } else {
          out.kind = "error";
          auto detail = detail_of(r.error());
          out.text = detail.empty() ? to_string(r.error()) : detail;
        }
      } catch (const std::exception& e) {
        out.kind = "exception";
        out.text = e.what();
      } catch (...) {
        out.kind = "exception";
        out.text = "unknown exception";
      }
      worker_pool::deliver([&] {
        caf::anon_send(handle, attempt_done_atom::value, call.attempt,
                       std::move(out));
      });
    },
    std::move(label));
}

/// Arms the timeout of attempt `k`, which a worker has just begun.
void arm_timeout(job_ptr self, uint32_t k) {
  auto& st = self->state;
  auto& v = st.agg.state.view;
  job_actor handle = self;
  auto at = st.ctx->clock->now()
    + std::chrono::seconds{std::max<uint32_t>(v.policy.timeout_s, 1)};
  st.timeout_timer = st.ctx->clock->schedule(at, [handle, k] {
    caf::anon_send(handle, attempt_timeout_atom::value, k);
  });
}

void start_attempt(job_ptr self, uint32_t k, bool resumed) {
  auto& st = self->state;
  command<job_state> c;
  c.actor = "job:" + to_string(st.agg.state.view.job_id);
  c.decide = [k, resumed](const job_state& s, uint64_t) -> decision {
    auto& v = s.view;
    bool ok = (v.status == job_status::queued && k == v.attempt + 1)
      || (v.status == job_status::retrying && k == v.attempt + 1)
      || (resumed && v.status == job_status::running && k == v.attempt);
    if (!ok)
      return make_error(billow_errc::invalid_transition,
                        "attempt " + std::to_string(k) + " cannot start");
    boost::json::object p{{"attempt", k}};
    if (resumed)
      p["resumed"] = true;
    return std::vector<domain_event>{{"job.started", std::move(p)}};
  };
  c.effects = [self, k](command_result& res) {
    count_status(self);
    launch(self, k, res.position);
  };
  execute(self, st.agg, *st.ctx, std::move(c));
}

job_actor::behavior_type job_impl(job_ptr self, events::uuid id,
                                  const runtime_context* ctx,
                                  job_manager_actor manager, bool fresh) {
  auto& st = self->state;
  st.ctx = ctx;
  st.manager = std::move(manager);
  st.agg.stream = job_stream(id);
  st.agg.max_keys = ctx->aggregates.remembered_keys;
  // A job whose id the manager has just drawn has no stream to read.
  auto load_err = fresh ? caf::error{} : st.agg.load(*ctx->store);
  if (load_err)
    st.agg.version = 0; // answer not_found / errors rather than guess
  return {
    [self](job_start_atom, job_spec& spec) -> caf::result<job_view> {
      auto& st = self->state;
      if (st.agg.version > 0) {
        resume(self);
        return view_of(self);
      }
      if (spec.policy.tries == 0 || spec.module.empty() || spec.method.empty())
        return make_error(billow_errc::invalid_argument,
                          "a job needs a module, a method and tries >= 1");
      auto rp = self->make_response_promise<job_view>();
      command<job_state> c;
      c.actor = spec.actor;
      c.decide = [spec](const job_state&, uint64_t version) -> decision {
        if (version > 0)
          return std::vector<domain_event>{};
        auto v = queued_view(spec);
        v.policy = spec.policy;
        // Queued and handed to the pool in one append: one round trip less
        // per job, and the same meaning as two (the attempt may still wait
        // for a free worker, as any started attempt may).
        return std::vector<domain_event>{{"job.queued", spec_json(v)},
                                         {"job.started", {{"attempt", 1}}}};
      };
      c.effects = [self, rp](command_result& res) mutable {
        self->state.active = true;
        count_status(self);
        launch(self, 1, res.position);
        rp.deliver(view_of(self));
      };
      c.on_error = [rp](const caf::error& err) mutable {
        rp.deliver(err);
      };
      // The queued event's id derives from the job id: a retried add after
      // a crash is a no-op in the store.
      c.key = "queued";
      execute(self, st.agg, *st.ctx, std::move(c));
      return rp;
    },
    [self](job_get_atom) -> caf::result<job_view> {
      auto& agg = self->state.agg;
      if (agg.version == 0 && !agg.idle())
        return after_start(self, [self](job_promise& rp) {
          deliver_view(self, rp);
        });
      if (agg.version == 0)
        return make_error(billow_errc::not_found, agg.stream);
      return view_of(self);
    },
    [self](job_retry_atom, std::string& actor) -> caf::result<job_view> {
      auto& st = self->state;
      if (st.agg.version == 0)
        return make_error(billow_errc::not_found, st.agg.stream);
      auto rp = self->make_response_promise<job_view>();
      command<job_state> c;
      c.actor = actor;
      c.decide = [](const job_state& s, uint64_t) -> decision {
        if (s.view.status != job_status::failed)
          return make_error(billow_errc::invalid_transition,
                            std::string{"job is "} + to_string(s.view.status));
        return std::vector<domain_event>{
          {"job.retried", {{"attempt", s.view.attempt}}}};
      };
      c.effects = [self, rp](command_result&) mutable {
        count_status(self);
        rp.deliver(view_of(self));
        resume(self);
      };
      c.on_error = [rp](const caf::error& err) mutable {
        rp.deliver(err);
      };
      execute(self, st.agg, *st.ctx, std::move(c));
      return rp;
    },
    [self](job_await_atom) -> caf::result<job_view> {
      auto& st = self->state;
      if (st.agg.version == 0 && !st.agg.idle())
        return after_start(self, [self](job_promise& rp) {
          if (self->state.agg.version > 0
              && !self->state.agg.state.view.terminal())
            self->state.awaiting.push_back(rp);
          else
            deliver_view(self, rp);
        });
      if (st.agg.version == 0)
        return make_error(billow_errc::not_found, st.agg.stream);
      if (st.agg.state.view.terminal())
        return view_of(self);
      auto rp = self->make_response_promise<job_view>();
      st.awaiting.push_back(rp);
      return rp;
    },
    [self](attempt_begun_atom, uint32_t k) {
      auto& st = self->state;
      auto& v = st.agg.state.view;
      // Messages from one worker arrive in order: begun before done.
      if (v.status == job_status::running && v.attempt == k
          && st.running_ticket != 0)
        arm_timeout(self, k);
    },
    [self](attempt_done_atom, uint32_t k, attempt_outcome& out) {
      auto& st = self->state;
      auto& v = st.agg.state.view;
      if (v.status != job_status::running || v.attempt != k)
        return; // a late answer of an abandoned attempt
      st.ctx->clock->cancel(st.timeout_timer);
      st.running_ticket = 0;
      if (!out.ok && st.ctx->metrics != nullptr)
        st.ctx->metrics->job_attempt_failed(out.kind);
      record_outcome(self, k, std::move(out));
    },
    [self](attempt_timeout_atom, uint32_t k) {
      auto& st = self->state;
      auto& v = st.agg.state.view;
      if (v.status != job_status::running || v.attempt != k
          || st.running_ticket == 0)
        return;
      st.ctx->pool->abandon(st.running_ticket);
      st.running_ticket = 0;
      if (st.ctx->metrics != nullptr)
        st.ctx->metrics->job_attempt_failed("timeout");
      record_outcome(self, k,
                     attempt_outcome{false, "timeout",
                                     "attempt exceeded "
                                       + std::to_string(v.policy.timeout_s)
                                       + " s"});
    },
    [self](job_wake_atom, uint32_t k) {
      auto& v = self->state.agg.state.view;
      if (v.status == job_status::retrying && k == v.attempt + 1)
        start_attempt(self, k, false);
    },
    [self](passivate_atom) {
      passivate(self, self->state.agg);
    },
  };
}

// -- the job manager
// ---------------------------------------------------------------

struct job_manager_state {
  static inline const char* name = "billow.job_manager";

  const runtime_context* ctx = nullptr;
  std::unordered_map<events::uuid, job_actor, uuid_hash> live;
  std::unordered_map<caf::actor_addr, events::uuid> by_addr;
  /// Fingerprints of unfinished jobs, for deduplication.
  std::unordered_map<std::string, events::uuid> active;
  std::unordered_map<events::uuid, std::string, uuid_hash> fingerprint_of;
  caf::actor sink;
  job_stats stats;
};

using manager_ptr = job_manager_actor::stateful_pointer<job_manager_state>;

std::string fingerprint(const std::string& module, const std::string& method,
                        const events::uuid& service, const std::string& input,
                        const std::vector<std::string>& tags) {
  std::string fp = module;
  fp += '\0';
  fp += method;
  fp += '\0';
  fp += to_string(service);
  fp += '\0';
  fp += input;
  for (auto& t : tags) {
    fp += '\0';
    fp += t;
  }
  return fp;
}

/// The live actor of job `id`, spawned when needed; `fresh` when the id was
/// just drawn at random (nothing stored under it yet).
job_actor job_for(manager_ptr self, const events::uuid& id,
                  bool fresh = false) {
  auto& st = self->state;
  if (auto i = st.live.find(id); i != st.live.end())
    return i->second;
  job_manager_actor me = self;
  auto h = self->system().spawn(job_impl, id, st.ctx, me, fresh);
  // Linked: jobs die with their manager (no orphan keeps running timers).
  self->link_to(h);
  self->monitor(h);
  st.live.emplace(id, h);
  st.by_addr.emplace(h.address(), id);
  return h;
}

/// Ends the actor of a job that has nothing left to do (terminal, or an
/// unknown id). Messages routed to it before stay ahead of `passivate` in its
/// mailbox; later ones spawn a fresh incarnation.
void release(manager_ptr self, const events::uuid& id) {
  auto& st = self->state;
  if (auto i = st.live.find(id); i != st.live.end()) {
    caf::anon_send(i->second, passivate_atom::value);
    st.by_addr.erase(i->second.address());
    st.live.erase(i);
  }
}

/// Asks the job actor of `id` and drops it afterwards when the job is done.
template <class... Ts>
caf::result<job_view>
ask_job(manager_ptr self, const events::uuid& id, Ts... xs) {
  auto rp = self->make_response_promise<job_view>();
  self->request(job_for(self, id), caf::infinite, xs...)
    .then(
      [self, rp](job_view& v) mutable {
        if (v.terminal() && self->state.fingerprint_of.count(v.job_id) == 0)
          release(self, v.job_id);
        rp.deliver(std::move(v));
      },
      [self, rp, id](caf::error& err) mutable {
        if (errc_of(err) == billow_errc::not_found)
          release(self, id);
        rp.deliver(std::move(err));
      });
  return rp;
}

void track(manager_ptr self, const job_view& v) {
  if (v.terminal())
    return;
  auto fp = fingerprint(v.module, v.method, v.service_id, v.input, v.tags);
  self->state.active.emplace(fp, v.job_id);
  self->state.fingerprint_of.emplace(v.job_id, std::move(fp));
}

void untrack(manager_ptr self, const events::uuid& id) {
  auto& st = self->state;
  if (auto i = st.fingerprint_of.find(id); i != st.fingerprint_of.end()) {
    if (auto j = st.active.find(i->second);
        j != st.active.end() && j->second == id)
      st.active.erase(j);
    st.fingerprint_of.erase(i);
  }
}

constexpr const char* recovery_checkpoint = "actors.jobs.recovery";

job_manager_actor::behavior_type job_manager_impl(manager_ptr self,
                                                  const runtime_context* ctx) {
  self->state.ctx = ctx;
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (auto i = st.by_addr.find(msg.source); i != st.by_addr.end()) {
      if (auto j = st.live.find(i->second);
          j != st.live.end() && j->second.address() == msg.source)
        st.live.erase(j);
      st.by_addr.erase(i);
    }
  });
  return {
    [self](job_add_atom, job_spec& spec) -> caf::result<job_view> {
      auto& st = self->state;
      bool fresh = false;
      if (spec.job_id.is_nil()) {
        auto fp = fingerprint(spec.module, spec.method, spec.service_id,
                              spec.input, spec.tags);
        if (auto i = st.active.find(fp); i != st.active.end()) {
          ++st.stats.deduplicated;
          return ask_job(self, i->second, job_get_atom::value);
        }
        spec.job_id = events::uuid::random();
        st.active.emplace(fp, spec.job_id);
        st.fingerprint_of.emplace(spec.job_id, std::move(fp));
        fresh = true;
      } else {
        auto v = queued_view(spec);
        track(self, v);
        fresh = spec.unstored;
      }
      ++st.stats.added;
      auto id = spec.job_id;
      auto rp = self->make_response_promise<job_view>();
      self
        ->request(job_for(self, id, fresh), caf::infinite,
                  job_start_atom::value, std::move(spec))
        .then(
          [self, rp](job_view& v) mutable {
            if (v.terminal()) {
              untrack(self, v.job_id);
              release(self, v.job_id);
            }
            rp.deliver(std::move(v));
          },
          [self, rp, id](caf::error& err) mutable {
            untrack(self, id);
            release(self, id);
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](job_get_atom, events::uuid id) -> caf::result<job_view> {
      return ask_job(self, id, job_get_atom::value);
    },
    [self](job_retry_atom, events::uuid id,
           std::string& actor) -> caf::result<job_view> {
      auto rp = self->make_response_promise<job_view>();
      self
        ->request(job_for(self, id), caf::infinite, job_retry_atom::value,
                  std::move(actor))
        .then(
          [self, rp](job_view& v) mutable {
            track(self, v);
            rp.deliver(std::move(v));
          },
          [rp](caf::error& err) mutable {
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](job_await_atom, events::uuid id) -> caf::result<job_view> {
      return ask_job(self, id, job_await_atom::value);
    },
    [self](job_done_atom, job_view& v) {
      untrack(self, v.job_id);
      release(self, v.job_id);
      if (self->state.sink && !v.service_id.is_nil())
        caf::anon_send(self->state.sink, job_done_atom::value, std::move(v));
    },
    [self](job_sink_atom, caf::actor& sink) {
      self->state.sink = std::move(sink);
    },
    [self](recover_atom) -> caf::result<uint64_t> {
      auto& st = self->state;
      auto& store = *st.ctx->store;
      uint64_t from = 1;
      if (auto cp = store.load_checkpoint(recovery_checkpoint))
        from = *cp;
      auto end = store.last_position() + 1;
      uint64_t lowest_unfinished = end;
      std::vector<std::pair<uint64_t, events::uuid>> found;
      for (auto type : {"job.queued", "job.retried"}) {
        events::log_query q;
        q.type = type;
        q.from_position = from;
        q.limit = 1000;
        for (;;) {
          auto page = store.query(q);
          if (!page)
            return page.error();
          for (auto& e : page->events)
            if (e.position < end)
              found.emplace_back(e.position,
                                 *events::uuid::parse(e.stream.substr(4)));
          if (!page->next_cursor)
            break;
          q.from_position = *page->next_cursor;
        }
      }
      uint64_t resumed = 0;
      for (auto& [pos, id] : found) {
        auto last = store.read_stream(job_stream(id), 0,
                                      events::read_direction::backward, 1);
        if (!last)
          return last.error();
        if (last->empty() || last->front().type == "job.succeeded"
            || last->front().type == "job.failed")
          continue;
        lowest_unfinished = std::min(lowest_unfinished, pos);
        if (st.live.count(id) > 0)
          continue;
        ++resumed;
        ++st.stats.resumed;
        self
          ->request(job_for(self, id), caf::infinite, job_start_atom::value,
                    job_spec{})
          .then(
            [self](job_view& v) {
              track(self, v);
            },
            [](caf::error&) {});
      }
      if (auto err = store.save_checkpoint(recovery_checkpoint,
                                           lowest_unfinished))
        return err;
      return resumed;
    },
    [self](stats_atom) -> job_stats {
      auto s = self->state.stats;
      s.live = self->state.live.size();
      return s;
    },
  };
}

} // namespace

job_manager_actor make_job_manager(caf::actor_system& sys,
                                   const runtime_context& ctx) {
  return sys.spawn(job_manager_impl, &ctx);
}

} // namespace billow::actors
