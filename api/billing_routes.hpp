#pragma once

// The billing API (docs/api.md, "Admin: billing", "The invoice", "The
// ledger", "Billing settings", and the client area's invoices):
//
//   GET/PUT  /api/v1/admin/billing/settings               billing.read/write
//   GET/POST /api/v1/admin/tax-rules                      billing.read/write
//   GET/POST /api/v1/admin/invoices                       invoices.read/write
//   GET      /api/v1/admin/invoices/{id}, /{id}/pdf       invoices.read
//   POST     /api/v1/admin/invoices/{id}/issue | cancel | apply-credit
//            | payments                                   invoices.write
//   POST     /api/v1/admin/invoices/{id}/refunds          payments.refund
//   GET      /api/v1/admin/clients/{id}/account | ledger  billing.read
//   PUT      /api/v1/admin/clients/{id}                   clients.write
//   POST     /api/v1/admin/clients/{id}/adjustments       billing.write
//   GET      /api/v1/client/invoices, /invoices/{id}, /invoices/{id}/pdf,
//            /account; POST /api/v1/client/add-funds      (the client)
//
// Every command is one message to the billing registry (the client's account
// actor decides it, actors/billing/billing.hpp) and answers the invoice or
// account as the command left it, with `X-Billow-Position`. Money fields are
// the API's strings, parsed by the account actor in the client's currency;
// its field errors come back as 422s naming the field. Lists read the billing
// projection and take `?min_position=`.

#include <chrono>
#include <memory>

#include "actors/billing/billing.hpp"
#include "actors/billing/billing_config.hpp"
#include "api/auth.hpp"
#include "api/router.hpp"
#include "events/writer.hpp"
#include "projections/billing.hpp"
#include "vault/vault.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::api {

/// What the billing routes talk to.
struct billing_backend {
  events::event_store* store = nullptr;
  events::writer_actor writer;
  billing::billing_registry_actor billing;
  std::shared_ptr<billing::billing_config> config;
  std::shared_ptr<projections::billing_projection> projection;
  /// How long a read waits for `?min_position=`.
  std::chrono::milliseconds read_wait = std::chrono::seconds(5);
  vault::stores vault = {};
};

void add_billing_routes(route_table& routes,
                        const std::shared_ptr<const auth_context>& auth,
                        billing_backend backend);

} // namespace billow::api
