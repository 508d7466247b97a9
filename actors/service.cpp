#include "actors/service.hpp"

#include <algorithm>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/aggregate_actor.hpp"
#include "actors/registry_actor.hpp"
#include "actors/runtime.hpp"
#include "actors/service_state.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"

namespace billow::actors {

const char* to_string(service_status x) {
  switch (x) {
    case service_status::none: return "none";
    case service_status::pending: return "pending";
    case service_status::active: return "active";
    case service_status::suspended: return "suspended";
    case service_status::terminated: return "terminated";
    case service_status::cancelled: return "cancelled";
  }
  return "unknown";
}

const char* to_string(provision_status x) {
  switch (x) {
    case provision_status::pending: return "pending";
    case provision_status::processing: return "processing";
    case provision_status::completed: return "completed";
    case provision_status::failed: return "failed";
  }
  return "unknown";
}

const char* to_string(service_op x) {
  switch (x) {
    case service_op::none: return "none";
    case service_op::create: return "create";
    case service_op::suspend: return "suspend";
    case service_op::unsuspend: return "unsuspend";
    case service_op::terminate: return "terminate";
    case service_op::change_package: return "change_package";
    case service_op::cancel: return "cancel";
  }
  return "unknown";
}

const char* job_method(service_op op) {
  switch (op) {
    case service_op::create: return "create_job";
    case service_op::suspend: return "suspend_job";
    case service_op::unsuspend: return "unsuspend_job";
    case service_op::terminate: return "termination_job";
    case service_op::change_package: return "change_package_job";
    default: return "";
  }
}

std::string service_stream(const events::uuid& id) {
  return "service-" + to_string(id);
}

// -- the pure part ------------------------------------------------------------

namespace {

struct op_events {
  service_op op;
  const char* requested;
  const char* succeeded;
  const char* failed;
};

constexpr op_events op_table[] = {
  {service_op::create, "service.create_requested", "service.provisioned",
   "service.provisioning_failed"},
  {service_op::suspend, "service.suspend_requested", "service.suspended",
   "service.suspend_failed"},
  {service_op::unsuspend, "service.unsuspend_requested", "service.unsuspended",
   "service.unsuspend_failed"},
  {service_op::terminate, "service.terminate_requested", "service.terminated",
   "service.termination_failed"},
  {service_op::change_package, "service.package_change_requested",
   "service.package_changed", "service.package_change_failed"},
};

const op_events* events_of(service_op op) {
  for (auto& e : op_table)
    if (e.op == op)
      return &e;
  return nullptr;
}

service_op op_of_requested(std::string_view type) {
  for (auto& e : op_table)
    if (type == e.requested)
      return e.op;
  return service_op::none;
}

caf::error refuse(const service_state& st, service_op op) {
  std::string why = std::string{"cannot "} + to_string(op)
    + " a service that is " + to_string(st.status);
  if (st.pending_op != service_op::none)
    why += " with " + std::string{to_string(st.pending_op)} + " in progress";
  return make_error(billow_errc::invalid_transition, std::move(why));
}

} // namespace

void service_state::apply(service_state& st, std::string_view type,
                          const boost::json::object& p) {
  if (type == "service.opened") {
    st.status = service_status::pending;
    st.provision = provision_status::pending;
    st.client_id = json_uuid(p, "client_id");
    st.product_id = json_uuid(p, "product_id");
    st.module = json_string(p, "module");
    st.period = json_string(p, "period");
    st.label = json_string(p, "label");
    return;
  }
  if (type == "service.cancelled") {
    st.status = service_status::cancelled;
    return;
  }
  if (auto op = op_of_requested(type); op != service_op::none) {
    st.pending_op = op;
    st.last_op = op;
    st.job_id = json_uuid(p, "job_id");
    st.new_product_id = json_uuid(p, "new_product_id");
    if (auto* pol = p.if_contains("policy"); pol && pol->is_object())
      st.pending_policy = policy_from_json(pol->get_object());
    if (op == service_op::create)
      st.provision = provision_status::processing;
    return;
  }
  for (auto& e : op_table) {
    bool ok = type == e.succeeded;
    if (!ok && type != e.failed)
      continue;
    st.pending_op = service_op::none;
    st.pending_policy.reset();
    if (!ok) {
      st.last_error = json_string(p, "error");
      if (e.op == service_op::create)
        st.provision = provision_status::failed;
      return;
    }
    st.last_error.clear();
    switch (e.op) {
      case service_op::create:
        st.status = service_status::active;
        st.provision = provision_status::completed;
        break;
      case service_op::suspend: st.status = service_status::suspended; break;
      case service_op::unsuspend: st.status = service_status::active; break;
      case service_op::terminate: st.status = service_status::terminated; break;
      case service_op::change_package:
        if (auto np = json_uuid(p, "new_product_id"); !np.is_nil())
          st.product_id = np; // a manual change names it itself
        else
          st.product_id = st.new_product_id;
        break;
      default: break;
    }
    st.new_product_id = {};
    return;
  }
}

boost::json::object service_state::to_json() const {
  boost::json::object o{
    {"status", static_cast<uint64_t>(status)},
    {"provision", static_cast<uint64_t>(provision)},
    {"pending_op", static_cast<uint64_t>(pending_op)},
    {"last_op", static_cast<uint64_t>(last_op)},
    {"job_id", to_string(job_id)},
    {"client_id", to_string(client_id)},
    {"product_id", to_string(product_id)},
    {"new_product_id", to_string(new_product_id)},
    {"module", module},
    {"last_error", last_error},
    {"period", period},
    {"label", label},
  };
  if (pending_policy)
    o["policy"] = actors::to_json(*pending_policy);
  return o;
}

service_state service_state::from_json(const boost::json::object& o) {
  service_state st;
  st.status = static_cast<service_status>(json_uint(o, "status"));
  st.provision = static_cast<provision_status>(json_uint(o, "provision"));
  st.pending_op = static_cast<service_op>(json_uint(o, "pending_op"));
  st.last_op = static_cast<service_op>(json_uint(o, "last_op"));
  st.job_id = json_uuid(o, "job_id");
  st.client_id = json_uuid(o, "client_id");
  st.product_id = json_uuid(o, "product_id");
  st.new_product_id = json_uuid(o, "new_product_id");
  st.module = json_string(o, "module");
  st.last_error = json_string(o, "last_error");
  st.period = json_string(o, "period");
  st.label = json_string(o, "label");
  if (auto* pol = o.if_contains("policy"); pol && pol->is_object())
    st.pending_policy = policy_from_json(pol->get_object());
  return st;
}

decision decide_open(const service_state& st, const open_service& cmd) {
  if (st.status != service_status::none)
    return make_error(billow_errc::already_exists, "service already opened");
  if (cmd.client_id.is_nil() || cmd.product_id.is_nil())
    return make_error(billow_errc::invalid_argument,
                      "open needs client_id and product_id");
  boost::json::object opened{{"client_id", to_string(cmd.client_id)},
                             {"product_id", to_string(cmd.product_id)},
                             {"module", cmd.module}};
  if (!cmd.period.empty())
    opened["period"] = cmd.period;
  if (!cmd.label.empty())
    opened["label"] = cmd.label;
  return std::vector<domain_event>{{"service.opened", std::move(opened)}};
}

decision decide_lifecycle(const service_state& st, uint64_t version,
                          const service_command& cmd,
                          const events::uuid& job_id) {
  if (st.status == service_status::none)
    return make_error(billow_errc::not_found, "no such service");
  if (cmd.expected_version >= 0
      && static_cast<uint64_t>(cmd.expected_version) != version)
    return make_error(billow_errc::wrong_expected_version,
                      "service is at version " + std::to_string(version));
  if (cmd.op == service_op::none)
    return make_error(billow_errc::invalid_argument, "no operation");
  if (st.pending_op != service_op::none)
    return refuse(st, cmd.op);
  auto s = st.status;
  bool provisionable = s == service_status::pending
    && (st.provision == provision_status::pending
        || st.provision == provision_status::failed);
  bool allowed = false;
  switch (cmd.op) {
    case service_op::create:
    case service_op::cancel: allowed = provisionable; break;
    case service_op::suspend:
    case service_op::change_package:
      allowed = s == service_status::active;
      break;
    case service_op::unsuspend: allowed = s == service_status::suspended; break;
    case service_op::terminate:
      allowed = s == service_status::active || s == service_status::suspended;
      break;
    default: break;
  }
  if (!allowed)
    return refuse(st, cmd.op);
  boost::json::object p{{"reason", cmd.reason}};
  if (cmd.op == service_op::cancel)
    return std::vector<domain_event>{{"service.cancelled", std::move(p)}};
  if (cmd.op == service_op::change_package) {
    if (cmd.product_id.is_nil())
      return make_error(billow_errc::invalid_argument,
                        "change_package needs product_id");
    p["new_product_id"] = to_string(cmd.product_id);
  }
  if (st.module.empty()) {
    // A product without a module (manual provisioning): there is no job to
    // run, so the command's event is its outcome.
    p["manual"] = true;
    return std::vector<domain_event>{
      {events_of(cmd.op)->succeeded, std::move(p)}};
  }
  if (cmd.policy.tries == 0)
    return make_error(billow_errc::invalid_argument, "tries must be >= 1");
  p["job_id"] = to_string(job_id);
  p["policy"] = to_json(cmd.policy);
  return std::vector<domain_event>{
    {events_of(cmd.op)->requested, std::move(p)}};
}

decision decide_outcome(const service_state& st, const job_view& job) {
  if (job.job_id != st.job_id || !job.terminal())
    return std::vector<domain_event>{};
  auto* e = events_of(st.last_op);
  if (e == nullptr)
    return std::vector<domain_event>{};
  bool ok = job.status == job_status::completed;
  if (st.pending_op == service_op::none) {
    // Recorded already; only a failed job retried by command to success
    // changes the outcome (its key differs, so this runs once).
    bool was_failed = !st.last_error.empty();
    if (!(ok && was_failed))
      return std::vector<domain_event>{};
  }
  boost::json::object p{{"job_id", to_string(job.job_id)}};
  if (ok)
    p["result"] = job.result;
  else
    p["error"] = job.error;
  return std::vector<domain_event>{
    {ok ? e->succeeded : e->failed, std::move(p)}};
}

job_spec pending_job_spec(const service_state& st, const events::uuid& id) {
  job_spec spec;
  spec.job_id = st.job_id;
  spec.module = st.module;
  spec.method = job_method(st.pending_op);
  spec.service_id = id;
  boost::json::object in{{"service_id", to_string(id)},
                         {"client_id", to_string(st.client_id)},
                         {"product_id", to_string(st.product_id)}};
  if (!st.new_product_id.is_nil())
    in["new_product_id"] = to_string(st.new_product_id);
  spec.input = boost::json::serialize(in);
  spec.tags = {to_string(st.pending_op)};
  if (st.pending_policy)
    spec.policy = *st.pending_policy;
  return spec;
}

// -- the service actor --------------------------------------------------------

namespace {

using service_actor = caf::typed_actor<
  caf::replies_to<svc_open_atom, events::uuid,
                  open_service>::with<command_result>,
  caf::replies_to<svc_cmd_atom, events::uuid,
                  service_command>::with<command_result>,
  caf::replies_to<svc_cmd_view_atom, events::uuid,
                  service_command>::with<service_command_reply>,
  caf::replies_to<query_atom, events::uuid>::with<service_view>,
  caf::reacts_to<job_done_atom, job_view>, caf::reacts_to<passivate_atom>>;

struct service_actor_state {
  static inline const char* name = "billow.service";
  aggregate<service_state> agg;
  const runtime_context* ctx = nullptr;
  job_manager_actor jobs;
  events::uuid id;
};

using service_ptr = service_actor::stateful_pointer<service_actor_state>;

void record_outcome(service_ptr self, job_view job) {
  auto& st = self->state;
  command<service_state> c;
  c.actor = "job:" + to_string(job.job_id);
  c.key = "job:" + to_string(job.job_id)
    + (job.status == job_status::completed ? ":ok" : ":failed");
  c.decide = [job = std::move(job)](const service_state& s, uint64_t) {
    return decide_outcome(s, job);
  };
  execute(self, st.agg, *st.ctx, std::move(c));
}

/// Queues (or finds) the job of the operation in progress.
/// `just_appended`: the request naming the job was just stored for the first
/// time (so nothing is stored under the job's id yet), not found on load.
void ensure_job(service_ptr self, bool just_appended) {
  auto& st = self->state;
  auto& s = st.agg.state;
  if (s.pending_op == service_op::none || s.job_id.is_nil())
    return;
  auto spec = pending_job_spec(s, st.id);
  spec.unstored = just_appended;
  self->request(st.jobs, caf::infinite, job_add_atom::value, std::move(spec))
    .then(
      [self](job_view& v) {
        if (v.terminal())
          record_outcome(self, std::move(v));
      },
      [](caf::error&) {
        // The job stays unqueued until the service wakes again (recover).
      });
}

service_view view_of(service_ptr self) {
  auto& st = self->state;
  auto& s = st.agg.state;
  return service_view{st.id,        s.client_id,    s.product_id, s.module,
                      s.status,     s.provision,    s.pending_op, s.job_id,
                      s.last_error, st.agg.version, s.period,     s.label};
}

/// A lifecycle command on this service: decided against its state, and its
/// job queued once the request is durable. The caller sets how it answers.
command<service_state> lifecycle_command(service_ptr self,
                                         service_command cmd) {
  command<service_state> c;
  c.key = cmd.idempotency_key;
  c.actor = cmd.actor;
  c.decide = [self, cmd = std::move(cmd)](const service_state& s,
                                          uint64_t version) {
    // A stable job id: derived from the stream and the version the
    // request will have, so a retried append names the same job.
    auto job_id = derive_uuid(self->state.agg.stream, "job", version + 1);
    return decide_lifecycle(s, version, cmd, job_id);
  };
  c.effects = [self](command_result&) {
    ensure_job(self, true);
  };
  return c;
}

service_actor::behavior_type
service_impl(service_ptr self, events::uuid id, const runtime_context* ctx,
             job_manager_actor jobs, const caf::actor_addr& registry) {
  auto& st = self->state;
  st.ctx = ctx;
  st.jobs = std::move(jobs);
  st.id = id;
  st.agg.stream = service_stream(id);
  st.agg.max_keys = ctx->aggregates.remembered_keys;
  auto load_err = st.agg.load(*ctx->store);
  if (!load_err)
    ensure_job(self, false);
  else
    // Asks the registry to drop it: the registry answers with `passivate`,
    // which lands behind every message it routed here before, so those get
    // the load error (not a dead receiver) and the next one rehydrates
    // afresh. A `passivate` sent to itself could overtake the message this
    // actor was spawned for.
    self->send(caf::actor_cast<service_registry_actor>(registry),
               agg_down_atom::value, id, self->address());
  return {
    [self, load_err](svc_open_atom, events::uuid,
                     open_service& cmd) -> caf::result<command_result> {
      if (load_err)
        return load_err;
      auto rp = self->make_response_promise<command_result>();
      command<service_state> c;
      c.key = cmd.idempotency_key;
      c.actor = cmd.actor;
      c.rp = rp;
      c.decide = [cmd](const service_state& s, uint64_t) {
        return decide_open(s, cmd);
      };
      execute(self, self->state.agg, *self->state.ctx, std::move(c));
      return rp;
    },
    [self, load_err](svc_cmd_atom, events::uuid,
                     service_command& cmd) -> caf::result<command_result> {
      if (load_err)
        return load_err;
      auto rp = self->make_response_promise<command_result>();
      auto c = lifecycle_command(self, std::move(cmd));
      c.rp = rp;
      execute(self, self->state.agg, *self->state.ctx, std::move(c));
      return rp;
    },
    [self, load_err](svc_cmd_view_atom, events::uuid, service_command& cmd)
      -> caf::result<service_command_reply> {
      if (load_err)
        return load_err;
      auto rp = self->make_response_promise<service_command_reply>();
      auto c = lifecycle_command(self, std::move(cmd));
      c.on_result = [self, rp](const command_result& res) mutable {
        rp.deliver(service_command_reply{res, view_of(self)});
      };
      c.on_error = [rp](const caf::error& err) mutable {
        rp.deliver(err);
      };
      execute(self, self->state.agg, *self->state.ctx, std::move(c));
      return rp;
    },
    [self, load_err](query_atom, events::uuid) -> caf::result<service_view> {
      if (load_err)
        return load_err;
      if (self->state.agg.version == 0)
        return make_error(billow_errc::not_found, self->state.agg.stream);
      return view_of(self);
    },
    [self](job_done_atom, job_view& job) {
      record_outcome(self, std::move(job));
    },
    [self, load_err](passivate_atom) {
      if (load_err)
        self->quit(load_err);
      else
        passivate(self, self->state.agg);
    },
  };
}

// -- the registry -------------------------------------------------------------

struct registry_state {
  static inline const char* name = "billow.service_registry";
  registry_core<service_actor> reg;
  job_manager_actor jobs;
};

using registry_ptr = service_registry_actor::stateful_pointer<registry_state>;

constexpr const char* recovery_checkpoint = "actors.services.recovery";

service_actor route(registry_ptr self, const events::uuid& id) {
  auto& st = self->state;
  return route_to(self, st.reg, id, [self, &st](const events::uuid& id) {
    // The registry's address, not a handle: a service must not keep its
    // registry alive.
    return self->system().spawn(service_impl, id, st.reg.ctx, st.jobs,
                                self->address());
  });
}

service_registry_actor::behavior_type
registry_impl(registry_ptr self, const runtime_context* ctx,
              job_manager_actor jobs, registry_options opts) {
  auto& st = self->state;
  st.reg.ctx = ctx;
  st.reg.opts = opts;
  st.reg.counted = true;
  st.jobs = std::move(jobs);
  self->send(st.jobs, job_sink_atom::value, caf::actor_cast<caf::actor>(self));
  return {
    [self](svc_open_atom, events::uuid id, open_service& cmd) {
      return self->delegate(route(self, id), svc_open_atom::value, id,
                            std::move(cmd));
    },
    [self](svc_cmd_atom, events::uuid id, service_command& cmd) {
      return self->delegate(route(self, id), svc_cmd_atom::value, id,
                            std::move(cmd));
    },
    [self](svc_cmd_view_atom, events::uuid id, service_command& cmd) {
      return self->delegate(route(self, id), svc_cmd_view_atom::value, id,
                            std::move(cmd));
    },
    [self](query_atom, events::uuid id) {
      return self->delegate(route(self, id), query_atom::value, id);
    },
    [self](job_done_atom, job_view& job) {
      auto id = job.service_id;
      self->send(route(self, id), job_done_atom::value, std::move(job));
    },
    [self](agg_down_atom, events::uuid id, caf::actor_addr& addr) {
      drop_down(self->state.reg, id, addr);
    },
    [self](sweep_atom) {
      sweep_idle(self, self->state.reg);
    },
    [self](stats_atom) {
      return self->state.reg.current_stats();
    },
    [self](recover_atom) -> caf::result<uint64_t> {
      // Services whose last event is a request have an operation in flight:
      // wake them (spawning rehydrates; ensure_job re-queues or records the
      // job). The checkpoint is the lowest such request, so the next start
      // scans only from there.
      auto& store = *self->state.reg.ctx->store;
      uint64_t from = 1;
      if (auto cp = store.load_checkpoint(recovery_checkpoint))
        from = *cp;
      auto end = store.last_position() + 1;
      auto lowest_pending = end;
      uint64_t woken = 0;
      for (auto& e : op_table) {
        events::log_query q;
        q.type = e.requested;
        q.from_position = from;
        q.limit = 1000;
        for (;;) {
          auto page = store.query(q);
          if (!page)
            return page.error();
          for (auto& ev : page->events) {
            if (ev.position >= end)
              continue;
            auto last = store.read_stream(ev.stream, 0,
                                          events::read_direction::backward, 1);
            if (!last)
              return last.error();
            if (last->empty() || last->front().position != ev.position)
              continue; // its outcome (or more) followed
            auto id
              = events::uuid::parse(std::string_view{ev.stream}.substr(8));
            if (!id)
              continue;
            lowest_pending = std::min(lowest_pending, ev.position);
            route(self, *id);
            ++woken;
          }
          if (!page->next_cursor)
            break;
          q.from_position = *page->next_cursor;
        }
      }
      if (auto err = store.save_checkpoint(recovery_checkpoint, lowest_pending))
        return err;
      return woken;
    },
  };
}

} // namespace

service_registry_actor
make_service_registry(caf::actor_system& sys, const runtime_context& ctx,
                      job_manager_actor jobs, registry_options opts) {
  return sys.spawn(registry_impl, &ctx, std::move(jobs), opts);
}

} // namespace billow::actors
