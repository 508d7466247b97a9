#include "api/admin_backend.hpp"

#include <boost/json.hpp>

#include "api/problem.hpp"
#include "api/route_helpers.hpp"
#include "events/event_store.hpp"

namespace billow::api {

namespace json = boost::json;

void add_admin_table(route_table& routes,
                     const std::shared_ptr<const auth_context>& auth,
                     admin_backend backend,
                     std::vector<named_route<admin_env>> table) {
  admin_env env{auth,
                std::make_shared<const admin_backend>(std::move(backend))};
  add_named_routes(routes, env, std::move(table));
}

json::object client_json(const projections::entity_row& row,
                         const projections::billing_projection* billing) {
  auto out = entity_json(row);
  auto account = billing != nullptr ? billing->account(row.id) : std::nullopt;
  if (!account) {
    // No billing yet: a zero balance, in the client's own currency.
    if (const auto* cur = billing::find_currency(string_field(out, "currency")))
      out["balance"] = billing::format_amount(0, *cur);
    return out;
  }
  // The account's side of the client: its balance and billing profile.
  auto acc = account->to_json();
  for (const char* key :
       {"balance", "billing_mode", "credit_limit", "country", "tax_exempt"})
    out[key] = acc.at(key);
  return out;
}

void list_entities(const request_context& ctx, const admin_env& env,
                   std::string_view kind) {
  auto check = query_checker();
  auto params = parse_list_params(ctx, check);
  if (!check.ok())
    return ctx.reply(check.problem());
  bool clients = kind == "client";
  when_reached(
    ctx, *env.auth, env.be->provisioning, params.min_position,
    env.be->read_wait, [ctx, env, clients, params] {
      const auto& prov = *env.be->provisioning;
      auto position = prov.position();
      auto page = clients ? prov.clients(params.after, params.limit)
                          : prov.products(params.after, params.limit);
      json::array items;
      for (const auto& row : page.items)
        items.push_back(clients ? client_json(row, env.be->billing_list.get())
                                : entity_json(row));
      ctx.reply(list_response(std::move(items), page.next_after, position));
    });
}

void get_entity(const request_context& ctx, const admin_env& env,
                std::string_view kind) {
  auto read = parse_one_read(ctx);
  if (!read)
    return;
  auto at = std::max(read->min_position, env.be->store->last_position());
  auto answer = [ctx, env, kind = std::string{kind},
                 id = events::to_string(read->id)] {
    const auto& prov = *env.be->provisioning;
    auto row = kind == "client" ? prov.client(id) : prov.product(id);
    if (!row)
      return ctx.reply(problem_response(404, "No " + kind + " " + id + "."));
    ctx.reply(json_at(200,
                      kind == "client"
                        ? client_json(*row, env.be->billing_list.get())
                        : entity_json(*row),
                      prov.position()));
  };
  // A client's balance is the billing projection's: it waits for both.
  when_reached(ctx, *env.auth, env.be->provisioning, at, env.be->read_wait,
               [ctx, env, at, answer, client = kind == "client"] {
                 if (!client || !env.be->billing_list)
                   return answer();
                 when_reached(ctx, *env.auth, env.be->billing_list, at,
                              env.be->read_wait, answer);
               });
}

namespace {

template <class Registry>
void send_create(const request_context& ctx, const Registry& registry,
                 const events::uuid& id, const json::object& fields,
                 bool on_front) {
  actors::entity_command cmd;
  cmd.op = actors::entity_op::create;
  cmd.fields = json::serialize(fields);
  cmd.actor = ctx.caller->actor();
  auto answer = [fields, id](const request_context& ctx,
                             const actors::command_result& r) {
    auto out = fields;
    out["id"] = events::to_string(id);
    out["version"] = r.version;
    ctx.reply(json_at(201, out, r.position));
  };
  if (on_front)
    ask_for<actors::command_result>(
      ctx, registry, answer, actors::ent_cmd_atom::value, id, std::move(cmd));
  else
    ask_for_anywhere<actors::command_result>(
      ctx, registry, answer, actors::ent_cmd_atom::value, id, std::move(cmd));
}

} // namespace

void create_entity(const request_context& ctx,
                   const actors::client_registry_actor& registry,
                   const events::uuid& id, const json::object& fields,
                   bool on_front) {
  send_create(ctx, registry, id, fields, on_front);
}

void create_entity(const request_context& ctx,
                   const actors::product_registry_actor& registry,
                   const events::uuid& id, const json::object& fields,
                   bool on_front) {
  send_create(ctx, registry, id, fields, on_front);
}

} // namespace billow::api
