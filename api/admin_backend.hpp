#pragma once

// What the admin families of clients, products, services, jobs and the
// clock (api/client_admin_routes, product_routes, service_routes,
// job_routes, clock_routes) share: the backend they talk to and their
// handlers' env, the one call that adds a family's table, and the create,
// GET and list of clients and products (alike for both).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "actors/billing/billing.hpp"
#include "actors/billing/billing_scheduler.hpp"
#include "actors/entity.hpp"
#include "actors/job.hpp"
#include "actors/orders/order_desk.hpp"
#include "actors/service.hpp"
#include "api/auth.hpp"
#include "api/route_helpers.hpp"
#include "api/router.hpp"
#include "events/writer.hpp"
#include "projections/billing.hpp"
#include "projections/jobs.hpp"
#include "projections/provisioning.hpp"
#include "vault/vault.hpp"

namespace billow::actors {
class clock;
} // namespace billow::actors

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::modules {
class module_catalog;
} // namespace billow::modules

namespace billow::api {

/// What the admin routes talk to; one for every family, made by
/// api/application.cpp.
struct admin_backend {
  events::event_store* store = nullptr;
  events::writer_actor writer;
  actors::job_manager_actor jobs;
  actors::service_registry_actor services;
  std::shared_ptr<modules::module_catalog> catalog;
  actors::clock* clock = nullptr;
  /// The read models of every read (required).
  std::shared_ptr<projections::provisioning> provisioning = nullptr;
  std::shared_ptr<projections::jobs_projection> job_list = nullptr;
  /// Accounts (a client's balance) and invoices.
  std::shared_ptr<projections::billing_projection> billing_list = nullptr;
  /// The billing aggregates (an order's first invoice).
  billing::billing_registry_actor billing;
  /// How long a read waits for `?min_position=`.
  std::chrono::milliseconds read_wait = std::chrono::seconds(5);
  /// Where credentials and personal data keys are kept.
  vault::stores vault = {};
  /// The billing scheduler: the manual clock's advance runs it.
  billing::billing_scheduler_actor billing_scheduler = {};
  /// The client and product aggregates (their commands).
  actors::client_registry_actor clients;
  actors::product_registry_actor products;
  /// Orders of services (one message each).
  orders::order_desk_actor orders;
};

/// A client as the API answers it: its row, with the balance and billing
/// profile of its account (the billing projection's, when there is one).
boost::json::object client_json(const projections::entity_row& row,
                                const projections::billing_projection* billing);

/// What an admin family's handlers share (named_route's `Env`): kept alive
/// by the continuations that copy it.
struct admin_env {
  std::shared_ptr<const auth_context> auth;
  std::shared_ptr<const admin_backend> be;
};

/// Adds an admin family's `table` (add_named_routes) with the handlers'
/// `admin_env`: `auth` and `backend`.
void add_admin_table(route_table& routes,
                     const std::shared_ptr<const auth_context>& auth,
                     admin_backend backend,
                     std::vector<named_route<admin_env>> table);

/// `GET /api/v1/admin/<kind>s` (`client`, `product`): a page of the
/// provisioning projection's list, once it reached `?min_position=`.
void list_entities(const request_context& ctx, const admin_env& env,
                   std::string_view kind);

/// `GET /api/v1/admin/<kind>s/{id}`: from the provisioning projection once it
/// has applied the log as it was when the request came (or `?min_position=`),
/// so a read after a write sees it; 404 when it does not know the id.
void get_entity(const request_context& ctx, const admin_env& env,
                std::string_view kind);

/// Creates client or product `id` (a `create` of `fields` sent to
/// `registry`) and answers 201 with `fields`, `id` and the version, at the
/// command's position. `on_front`: called on the front actor (a handler),
/// else from another thread (the blocking or password pool).
void create_entity(const request_context& ctx,
                   const actors::client_registry_actor& registry,
                   const events::uuid& id, const boost::json::object& fields,
                   bool on_front);
void create_entity(const request_context& ctx,
                   const actors::product_registry_actor& registry,
                   const events::uuid& id, const boost::json::object& fields,
                   bool on_front);

} // namespace billow::api
