#include "api/client_admin_routes.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/billing/money.hpp"
#include "api/accounts.hpp"
#include "api/problem.hpp"
#include "api/route_helpers.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "projections/admin_directory.hpp"
#include "projections/client_directory.hpp"

namespace billow::api {

namespace json = boost::json;

namespace {

void create_client(const request_context& ctx, const admin_env& env) {
  json::object body;
  if (auto bad = parse_object_body(ctx.request(), body))
    return ctx.reply(std::move(*bad));
  field_checker check{body};
  check.only({"name", "email", "currency", "password"},
             {"billing_mode", "credit_limit", "country", "tax_id",
              "tax_exempt"});
  auto name = check.required_string("name", 200);
  auto email = check.required_string("email", 320);
  auto currency = check.required_string("currency", 3);
  auto password = check.optional_string("password", 1024);
  if (!email.empty() && !is_email(email))
    check.fail("email", "must be an email address");
  if (body.contains("password") && password.size() < 8)
    check.fail("password", "must have at least 8 characters");
  if (!currency.empty())
    if (auto known = billing::require_currency(currency); !known)
      check.fail("currency", detail_of(known.error()));
  if (!check.ok())
    return ctx.reply(check.problem());
  // The client's id is its created event's: with an Idempotency-Key, a
  // retry names the same client and the aggregate answers the first create.
  auto id = event_id_for(ctx, "client");
  auto stream = actors::client_stream(id);
  auto normalized = projections::normalize_email(email);
  if (!password.empty()) {
    // A client-area login: its email must be free.
    auto other = env.auth->clients->find_login(normalized);
    if (other && other->id != events::to_string(id))
      return ctx.reply(problem_response(409,
                                        "Another client logs in with this "
                                        "email.",
                                        "/problems/already_exists"));
  }
  // Name and email go into the log encrypted with the client's own key
  // (vault/personal_data.hpp); answers reveal them.
  json::object client{{"name", name},
                      {"email", normalized},
                      {"currency", currency},
                      {"balance", "0.00"},
                      {"login", !password.empty()}};
  if (env.be->vault.personal)
    if (auto err = vault::seal_fields(*env.be->vault.personal, stream, client))
      return ctx.reply(error_response(err));
  if (password.empty())
    return create_entity(ctx, env.be->clients, id, client, true);
  // The password's Argon2id hash (slow: on the password pool) goes to the
  // credential store before the event that names it (by its id, the
  // client's).
  run_password_work(*env.auth, ctx, [ctx, env, id, stream, password, client] {
    if (auto err = env.be->vault.credentials->put(stream, vault::password_kind,
                                                  id, hash_password(password)))
      return ctx.reply(error_response(err));
    create_entity(ctx, env.be->clients, id, client, false);
  });
}

void list_clients(const request_context& ctx, const admin_env& env) {
  list_entities(ctx, env, "client");
}

void get_client(const request_context& ctx, const admin_env& env) {
  get_entity(ctx, env, "client");
}

/// The erased client as the provisioning projection has it once it applied
/// the log up to `at` (as a GET answers it).
void answer_erased(const request_context& ctx, const admin_env& env,
                   const std::string& key, uint64_t at) {
  when_reached(ctx, *env.auth, env.be->provisioning, at, env.be->read_wait,
               [ctx, env, key, at] {
                 auto row = env.be->provisioning->client(key);
                 ctx.reply(json_at(
                   200, client_json(*row, env.be->billing_list.get()), at));
               });
}

/// Erases the client (its aggregate appends `client.erased`), then destroys
/// its data key and credentials, then answers the client.
void shred(const request_context& ctx, const admin_env& env,
           const events::uuid& id, const std::string& reason) {
  actors::entity_command cmd;
  cmd.op = actors::entity_op::erase;
  cmd.reason = reason;
  cmd.event_id = event_id_for(ctx, "client.erased");
  cmd.actor = ctx.caller->actor();
  ask_for_anywhere<actors::command_result>(
    ctx, env.be->clients,
    [env, id](const request_context& ctx, const actors::command_result& r) {
      // Compacting the key away takes a while: off the scheduler.
      env.auth->run_blocking([ctx, env, id, r] {
        auto stream = actors::client_stream(id);
        auto failed = env.be->vault.personal->erase(stream);
        if (!failed)
          failed = env.be->vault.credentials->erase_subject(stream);
        if (failed)
          return ctx.reply(error_response(failed));
        spdlog::info("client {} erased by {}", stream, ctx.caller->actor());
        // Erased before (a race with another erasure): nothing was written.
        auto at = r.position > 0 ? r.position : env.be->store->last_position();
        answer_erased(ctx, env, events::to_string(id), at);
      });
    },
    actors::ent_cmd_atom::value, id, std::move(cmd));
}

// Crypto-shredding (vault/personal_data.hpp): `client.erased` first, then the
// client's data key and credentials are destroyed; a crash between the two is
// completed at the next start (vault::open_vault).
void erase_client(const request_context& ctx, const admin_env& env) {
  auto id = id_param(ctx);
  if (!id)
    return;
  json::object body;
  if (auto bad = parse_object_body(ctx.request(), body))
    return ctx.reply(std::move(*bad));
  field_checker check{body};
  check.only({"reason"});
  auto reason = check.required_string("reason", 1000);
  if (!check.ok())
    return ctx.reply(check.problem());
  auto key = events::to_string(*id);
  auto client = env.auth->clients->find_by_id(key);
  if (!client)
    return ctx.reply(problem_response(404, "No client " + key + "."));
  if (client->erased) // a repeated erasure writes nothing
    return env.auth->run_blocking([ctx, env, key] {
      answer_erased(ctx, env, key, env.be->store->last_position());
    });
  // Its services must all have ended (the provisioning projection, once it
  // has applied the log as it is now).
  when_reached(
    ctx, *env.auth, env.be->provisioning, env.be->store->last_position(),
    env.be->read_wait, [ctx, env, id = *id, key, reason] {
      projections::service_filter mine;
      mine.client_id = key;
      auto services = env.be->provisioning->services(mine, 0, 1'000'000);
      size_t open = std::count_if(
        services.items.begin(), services.items.end(),
        [](const projections::service_row& row) {
          return row.state.status != actors::service_status::terminated
            && row.state.status != actors::service_status::cancelled;
        });
      if (open > 0)
        return ctx.reply(problem_response(
          409,
          fmt::format("The client has {} service(s) not terminated or "
                      "cancelled; terminate them before erasing.",
                      open),
          "/problems/client_has_active_services"));
      // Nor may it owe anything: unpaid invoices are still to be collected
      // (the billing projection, once it has applied the log as it is now).
      when_reached(
        ctx, *env.auth, env.be->billing_list, env.be->store->last_position(),
        env.be->read_wait, [ctx, env, id, key, reason] {
          projections::invoice_filter unpaid;
          unpaid.client_id = key;
          unpaid.status = billing::invoice_status::unpaid;
          unpaid.type = billing::invoice_type::invoice;
          auto owed = env.be->billing_list->invoices(unpaid, 0, 1'000'000);
          if (!owed.items.empty())
            return ctx.reply(problem_response(
              409,
              fmt::format("The client has {} unpaid invoice(s); have them "
                          "paid or cancelled before erasing.",
                          owed.items.size()),
              "/problems/client_has_unpaid_invoices"));
          shred(ctx, env, id, reason);
        });
    });
}

} // namespace

void add_client_admin_routes(route_table& routes,
                             const std::shared_ptr<const auth_context>& auth,
                             admin_backend backend) {
  add_admin_table(
    routes, auth, std::move(backend),
    {
      {"POST",
       "/api/v1/admin/clients",
       create_client,
       {"Create a client", "clients.write", {}, true, 201}},
      {"GET",
       "/api/v1/admin/clients",
       list_clients,
       {"The clients in order of creation", "clients.read", list_query()}},
      {"GET",
       "/api/v1/admin/clients/{id}",
       get_client,
       {"One client, with its balance", "clients.read", {"min_position"}}},
      {"POST",
       "/api/v1/admin/clients/{id}/erase",
       erase_client,
       {"Erase a client's personal data (crypto-shredding, GDPR art. 17); "
        "refused while it has services not terminated or cancelled",
        "clients.erase",
        {},
        true,
        200,
        "application/json",
        "erase_request",
        "client"}},
    });
}

} // namespace billow::api
