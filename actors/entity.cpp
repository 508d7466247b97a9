#include "actors/entity.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/aggregate_actor.hpp"
#include "actors/entity_state.hpp"
#include "actors/registry_actor.hpp"
#include "events/errc.hpp"

namespace billow::actors {

namespace json = boost::json;

const char* to_string(entity_op x) {
  switch (x) {
    case entity_op::create: return "create";
    case entity_op::erase: return "erase";
  }
  return "unknown";
}

std::string client_stream(const events::uuid& id) {
  return "client-" + to_string(id);
}

std::string product_stream(const events::uuid& id) {
  return "product-" + to_string(id);
}

// -- the pure part ------------------------------------------------------------

namespace {

/// A create's event: `fields` as the payload, the entity's id as the event's
/// (so a repeat is the same event, which the store answers as the first),
/// refused when `required` is not a string in them.
decision decide_create(std::string_view kind, uint32_t schema,
                       const events::uuid& id, const entity_command& cmd,
                       std::string_view required) {
  boost::system::error_code ec;
  auto doc = json::parse(cmd.fields, ec);
  if (ec || !doc.is_object())
    return make_error(billow_errc::invalid_argument,
                      std::string{kind} + ": the fields must be a JSON object");
  auto* v = doc.as_object().if_contains(required);
  if (v == nullptr || !v->is_string())
    return make_error(billow_errc::invalid_argument,
                      std::string{required} + ": is required");
  domain_event ev{std::string{kind} + ".created", std::move(doc.as_object()),
                  schema, id};
  return std::vector<domain_event>{std::move(ev)};
}

caf::error no_such(std::string_view kind, const events::uuid& id) {
  return make_error(billow_errc::not_found,
                    "no " + std::string{kind} + " " + to_string(id));
}

} // namespace

void client_state::apply(client_state& st, std::string_view type,
                         const json::object& p) {
  if (type == "client.created") {
    st.created = true;
    st.currency = json_string(p, "currency");
  } else if (type == "client.erased") {
    st.erased = true;
  }
}

json::object client_state::to_json() const {
  return {{"created", created}, {"currency", currency}, {"erased", erased}};
}

client_state client_state::from_json(const json::object& o) {
  client_state st;
  auto flag = [&](std::string_view key) {
    auto* v = o.if_contains(key);
    return v != nullptr && v->is_bool() && v->get_bool();
  };
  st.created = flag("created");
  st.currency = json_string(o, "currency");
  st.erased = flag("erased");
  return st;
}

client_view client_state::view(const events::uuid& id, uint64_t version) const {
  return client_view{id, version, currency, erased};
}

decision decide(const client_state& st, const events::uuid& id,
                const entity_command& cmd) {
  if (cmd.op == entity_op::create)
    return decide_create(client_state::kind, 2, id, cmd, "currency");
  if (!st.created)
    return no_such(client_state::kind, id);
  if (st.erased) // an erasure is done once; a repeat writes nothing
    return std::vector<domain_event>{};
  return std::vector<domain_event>{
    {"client.erased", {{"reason", cmd.reason}}, 1, cmd.event_id}};
}

void product_state::apply(product_state& st, std::string_view type,
                          const json::object& p) {
  if (type != "product.created" && type != "product.updated")
    return;
  // Later events' fields win, as the provisioning projection folds them.
  st.created = true;
  if (p.contains("name"))
    st.name = json_string(p, "name");
  if (auto* m = p.if_contains("module")) {
    st.module.clear();
    if (m->is_object())
      st.module = json_string(m->get_object(), "type") + "/"
        + json_string(m->get_object(), "name");
  }
  if (auto* prices = p.if_contains("prices"); prices && prices->is_array())
    st.prices = prices->get_array();
  if (auto* data = p.if_contains("product_data"); data && data->is_object())
    st.product_data = data->get_object();
}

json::object product_state::to_json() const {
  return {{"created", created},
          {"name", name},
          {"module", module},
          {"prices", prices},
          {"product_data", product_data}};
}

product_state product_state::from_json(const json::object& o) {
  product_state st;
  auto* created = o.if_contains("created");
  st.created = created != nullptr && created->is_bool() && created->get_bool();
  st.name = json_string(o, "name");
  st.module = json_string(o, "module");
  if (auto* prices = o.if_contains("prices"); prices && prices->is_array())
    st.prices = prices->get_array();
  if (auto* data = o.if_contains("product_data"); data && data->is_object())
    st.product_data = data->get_object();
  return st;
}

product_view product_state::view(const events::uuid& id,
                                 uint64_t version) const {
  return product_view{id, version, name, module, json::serialize(prices)};
}

decision decide(const product_state&, const events::uuid& id,
                const entity_command& cmd) {
  if (cmd.op == entity_op::create)
    return decide_create(product_state::kind, 1, id, cmd, "name");
  return make_error(billow_errc::invalid_argument,
                    std::string{"a product has no "} + to_string(cmd.op));
}

// -- the entity actor ---------------------------------------------------------

namespace {

template <class State>
using registry_of = entity_registry_actor<typename State::view_type>;

template <class State>
using entity_actor = caf::typed_actor<
  caf::replies_to<ent_cmd_atom, events::uuid,
                  entity_command>::with<command_result>,
  caf::replies_to<query_atom, events::uuid>::with<typename State::view_type>,
  caf::reacts_to<passivate_atom>>;

template <class State>
struct entity_actor_state {
  static inline const char* name = State::actor_name;
  aggregate<State> agg;
  const runtime_context* ctx = nullptr;
};

template <class State>
using entity_ptr = typename entity_actor<State>::template stateful_pointer<
  entity_actor_state<State>>;

template <class State>
typename entity_actor<State>::behavior_type
entity_impl(entity_ptr<State> self, events::uuid id, const runtime_context* ctx,
            const caf::actor_addr& registry) {
  using view_type = typename State::view_type;
  auto& st = self->state;
  st.ctx = ctx;
  st.agg.stream = std::string{State::kind} + "-" + to_string(id);
  st.agg.max_keys = ctx->aggregates.remembered_keys;
  auto load_err = st.agg.load(*ctx->store);
  if (load_err)
    // As a service actor does (actors/service.cpp): the registry answers
    // with `passivate`, behind what it routed here before.
    self->send(caf::actor_cast<registry_of<State>>(registry),
               agg_down_atom::value, id, self->address());
  return {
    [self, id, load_err](ent_cmd_atom, events::uuid,
                         entity_command& cmd) -> caf::result<command_result> {
      if (load_err)
        return load_err;
      auto rp = self->template make_response_promise<command_result>();
      // No key: the ids the commands name make repeats write nothing.
      command<State> c;
      c.actor = cmd.actor;
      c.rp = rp;
      c.decide = [id, cmd = std::move(cmd)](const State& s, uint64_t) {
        return decide(s, id, cmd);
      };
      execute(self, self->state.agg, *self->state.ctx, std::move(c));
      return rp;
    },
    [self, id, load_err](query_atom, events::uuid) -> caf::result<view_type> {
      if (load_err)
        return load_err;
      const auto& agg = self->state.agg;
      if (!agg.state.created)
        return no_such(State::kind, id);
      return agg.state.view(id, agg.version);
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

template <class State>
struct entity_registry_state {
  static inline const char* name = "billow.entity_registry";
  registry_core<entity_actor<State>> reg;
};

template <class State>
using entity_registry_ptr = typename registry_of<
  State>::template stateful_pointer<entity_registry_state<State>>;

template <class State>
typename registry_of<State>::behavior_type
entity_registry_impl(entity_registry_ptr<State> self,
                     const runtime_context* ctx, registry_options opts) {
  self->state.reg.ctx = ctx;
  self->state.reg.opts = opts;
  auto route = [self](const events::uuid& id) {
    auto& reg = self->state.reg;
    return route_to(self, reg, id, [self, &reg](const events::uuid& id) {
      return self->system().spawn(entity_impl<State>, id, reg.ctx,
                                  self->address());
    });
  };
  return {
    [self, route](ent_cmd_atom, events::uuid id, entity_command& cmd) {
      return self->delegate(route(id), ent_cmd_atom::value, id, std::move(cmd));
    },
    [self, route](query_atom, events::uuid id) {
      return self->delegate(route(id), query_atom::value, id);
    },
    [self](sweep_atom) {
      sweep_idle(self, self->state.reg);
    },
    [self](agg_down_atom, events::uuid id, caf::actor_addr& addr) {
      drop_down(self->state.reg, id, addr);
    },
    [self](stats_atom) {
      return self->state.reg.current_stats();
    },
  };
}

} // namespace

client_registry_actor make_client_registry(caf::actor_system& sys,
                                           const runtime_context& ctx,
                                           registry_options opts) {
  return sys.spawn(entity_registry_impl<client_state>, &ctx, opts);
}

product_registry_actor make_product_registry(caf::actor_system& sys,
                                             const runtime_context& ctx,
                                             registry_options opts) {
  return sys.spawn(entity_registry_impl<product_state>, &ctx, opts);
}

} // namespace billow::actors
