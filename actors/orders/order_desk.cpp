#include "actors/orders/order_desk.hpp"

#include <memory>
#include <optional>
#include <utility>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/aggregate.hpp"
#include "events/errc.hpp"

namespace billow::orders {

namespace json = boost::json;

namespace {

struct desk_state {
  static inline const char* name = "billow.order_desk";
  order_desk_deps deps;
};

using desk_ptr = order_desk_actor::stateful_pointer<desk_state>;

/// What an aggregate answered about an order's client or product.
template <class View>
struct lookup {
  std::optional<View> found;
  caf::error error;
};

/// One order on its way through the steps (shared by their continuations,
/// which all run on the desk).
struct order_run {
  events::uuid id;
  service_order order;
  caf::typed_response_promise<order_reply> rp;
  /// The lookups: an answer, or the error (not_found: a problem).
  lookup<actors::client_view> client;
  lookup<actors::product_view> product;
  int lookups = 2;
  /// The period priced, and its price (none: a product without prices).
  std::string period;
  std::optional<json::object> price;
  order_reply reply;

  void fail(caf::error err) {
    if (rp.pending())
      rp.deliver(std::move(err));
  }

  void refuse(std::vector<order_problem> problems) {
    order_reply r;
    r.problems = std::move(problems);
    rp.deliver(std::move(r));
  }
};

using run_ptr = std::shared_ptr<order_run>;

/// The answer's handler for errors: the order fails with it.
auto failing(const run_ptr& run) {
  return [run](caf::error& err) {
    run->fail(std::move(err));
  };
}

/// Last step: the service as it is now.
void answer(desk_ptr self, const run_ptr& run) {
  self
    ->request(self->state.deps.services, caf::infinite,
              actors::query_atom::value, run->id)
    .then(
      [run](actors::service_view& v) {
        run->reply.service = std::move(v);
        run->rp.deliver(std::move(run->reply));
      },
      failing(run));
}

/// A priced order is invoiced (its first period and the setup fee); the
/// account actor decides by the client's billing mode. The invoice's id
/// derives from the service's, so a retried order invoices once.
void invoice(desk_ptr self, const run_ptr& run) {
  const auto& billing = self->state.deps.billing;
  if (!run->price || !billing)
    return answer(self, run);
  const auto& price = *run->price;
  json::object order{{"service_id", events::to_string(run->id)},
                     {"product_name", run->product.found->name},
                     {"period", run->period},
                     {"amount", price.at("amount")}};
  if (auto* fee = price.if_contains("setup_fee"))
    order["setup_fee"] = *fee;
  billing::billing_command bill;
  bill.op = "invoice.order";
  bill.client_id = run->order.client_id;
  bill.invoice_id = actors::derive_uuid("order-invoice",
                                        events::to_string(run->id), 0);
  bill.body = json::serialize(order);
  bill.actor = run->order.actor;
  bill.correlation_id = events::uuid::random();
  self
    ->request(billing, caf::infinite, billing::billing_cmd_atom::value,
              std::move(bill))
    .then(
      [self, run](const billing::billing_reply& r) {
        // A prepaid client's order answers its account: no invoice.
        auto body = actors::parse_object(r.body);
        if (body.contains("number"))
          run->reply.invoice_id = actors::json_string(body, "id");
        answer(self, run);
      },
      failing(run));
}

/// `provision: now`: the service's create (its job queued).
void create(desk_ptr self, const run_ptr& run) {
  if (!run->order.provision_now)
    return invoice(self, run);
  actors::service_command cmd;
  cmd.op = actors::service_op::create;
  cmd.actor = run->order.actor;
  if (!run->order.idempotency_key.empty())
    cmd.idempotency_key = run->order.idempotency_key + "/create";
  self
    ->request(self->state.deps.services, caf::infinite,
              actors::svc_cmd_atom::value, run->id, std::move(cmd))
    .then(
      [self, run](const actors::command_result& r) {
        run->reply.job_id = r.job_id;
        invoice(self, run);
      },
      failing(run));
}

/// Both lookups answered: the order is checked and priced, then opened.
void open(desk_ptr self, const run_ptr& run) {
  std::vector<order_problem> problems;
  for (auto* err : {&run->client.error, &run->product.error})
    if (*err && errc_of(*err) != billow_errc::not_found)
      return run->fail(std::move(*err));
  const auto& client = run->client.found;
  const auto& product = run->product.found;
  if (!client)
    problems.push_back({"client_id", "no such client"});
  else if (client->erased)
    problems.push_back({"client_id", "the client has been erased"});
  if (!product)
    problems.push_back({"product_id", "no such product"});
  if (!problems.empty())
    return run->refuse(std::move(problems));
  // Priced: a period the product has a price of in the client's currency (a
  // product without prices takes any, or none).
  json::array prices;
  boost::system::error_code ec;
  if (auto doc = json::parse(product->prices, ec); !ec && doc.is_array())
    prices = std::move(doc.as_array());
  const auto& currency = client->currency;
  auto period = order_period(prices, currency, run->order.period, problems);
  if (!period)
    return run->refuse(std::move(problems));
  if (const auto* price = price_of(prices, currency, *period))
    run->price = *price;
  actors::open_service cmd;
  cmd.client_id = run->order.client_id;
  cmd.product_id = run->order.product_id;
  cmd.module = product->module;
  cmd.actor = run->order.actor;
  cmd.idempotency_key = run->order.idempotency_key;
  cmd.period = *period;
  cmd.label = run->order.label;
  run->period = std::move(*period);
  self
    ->request(self->state.deps.services, caf::infinite,
              actors::svc_open_atom::value, run->id, std::move(cmd))
    .then(
      [self, run](const actors::command_result&) {
        create(self, run);
      },
      failing(run));
}

/// Asks `registry` about `id` into `slot` (of `run`); the second answer
/// goes on with the order.
template <class Registry, class View>
void look_up(desk_ptr self, const Registry& registry, const events::uuid& id,
             const run_ptr& run, lookup<View>& slot) {
  auto done = [self, run] {
    if (--run->lookups == 0)
      open(self, run);
  };
  self->request(registry, caf::infinite, actors::query_atom::value, id)
    .then(
      [&slot, done](View& v) {
        slot.found = std::move(v);
        done();
      },
      [&slot, done](caf::error& err) {
        slot.error = std::move(err);
        done();
      });
}

order_desk_actor::behavior_type desk_impl(desk_ptr self, order_desk_deps deps) {
  self->state.deps = std::move(deps);
  return {
    [self](order_atom, events::uuid id,
           service_order& order) -> caf::result<order_reply> {
      auto run = std::make_shared<order_run>();
      run->id = id;
      run->rp = self->make_response_promise<order_reply>();
      // The client and the product are asked at once.
      const auto& deps = self->state.deps;
      look_up(self, deps.clients, order.client_id, run, run->client);
      look_up(self, deps.products, order.product_id, run, run->product);
      run->order = std::move(order);
      return run->rp;
    },
  };
}

} // namespace

order_desk_actor make_order_desk(caf::actor_system& sys, order_desk_deps deps) {
  return sys.spawn(desk_impl, std::move(deps));
}

} // namespace billow::orders
