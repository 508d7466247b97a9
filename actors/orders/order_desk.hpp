#pragma once

// The order desk: ordering a service (`POST /api/v1/admin/services`) as one
// message. The route parses the body and names the service's id; the desk
// asks the aggregates what the order needs, prices it, and sends the
// commands, one after the other, answering once:
//
//   route ──order──► desk ──query──► client registry   (currency, erased)
//                         └─query──► product registry  (name, module, prices)
//     both answered: unknown or erased ──► {problems}: nothing written
//     order_period (pricing.hpp): no such price ──► {problems}
//     ──svc_open──► service registry             service.opened
//     ──svc_cmd create──► (provision: now)       its job queued
//     ──bill_cmd invoice.order──► billing registry  (a priced order: the
//                                 first period and the setup fee, issued)
//     ──query──► service registry ──► {service, job, invoice}
//
// Why a desk of its own: the billing registry is above the actor runtime
// (actors/billing/ links actors/), so neither the service registry nor a
// service actor can ask it; the desk links both. It keeps no state: every
// decision is the aggregates' (the client's currency and erasure, the
// product's prices, the service's transitions, the account's billing mode).
//
// Repeats: with an Idempotency-Key the route derives the service's id from
// it, the service remembers the key (`<key>/create` for the create), and the
// invoice's id derives from the service's, so a retried order opens,
// creates and invoices once.

#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/billing/billing.hpp"
#include "actors/entity.hpp"
#include "actors/orders/pricing.hpp"
#include "actors/service.hpp"

namespace billow::orders {

using order_atom = caf::atom_constant<caf::atom("svc_order")>;

/// An order of a service, as the route checked it.
struct service_order {
  events::uuid client_id;
  events::uuid product_id;
  /// The billing period asked for; empty: the product's one period in the
  /// client's currency (pricing.hpp, `order_period`).
  std::string period;
  /// The admin's or client's name for the service, empty when none.
  std::string label;
  /// `provision: now`: the service's create runs at once.
  bool provision_now = false;
  /// Who: `admin:<id>`, `client:<id>`, `system`.
  std::string actor = "system";
  /// Makes a retry answer the first result.
  std::string idempotency_key;
};

/// What an order answers: its problems (nothing was written), or the service
/// as it is once ordered with the create's job and the first invoice.
struct order_reply {
  /// Non-empty: the order is refused (`client_id` "no such client", "the
  /// client has been erased", `product_id` "no such product", or the
  /// pricing's); the rest is empty.
  std::vector<order_problem> problems;
  actors::service_view service;
  /// The create's job (nil without `provision_now`, or without a module).
  events::uuid job_id;
  /// The first invoice's id, empty when none was issued (a product without
  /// prices, a prepaid client, no billing).
  std::string invoice_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_order& x) {
  return f(x.client_id, x.product_id, x.period, x.label, x.provision_now,
           x.actor, x.idempotency_key);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_reply& x) {
  return f(x.problems, x.service, x.job_id, x.invoice_id);
}

using order_desk_actor = caf::typed_actor<
  /// Orders service `id`; errors are the commands' (`already_exists` when
  /// the id was opened by another order, storage errors, ...), refusals of
  /// the order itself are `problems`.
  caf::replies_to<order_atom, events::uuid, service_order>::with<order_reply>>;

/// What the desk asks.
struct order_desk_deps {
  actors::service_registry_actor services;
  actors::client_registry_actor clients;
  actors::product_registry_actor products;
  /// Null: orders are not invoiced.
  billing::billing_registry_actor billing;
};

/// Spawns the order desk.
order_desk_actor make_order_desk(caf::actor_system& sys, order_desk_deps deps);

} // namespace billow::orders
