// The order desk as the order route sees it: one message, answered with the
// service as ordered (its create's job and first invoice), or with the
// order's problems and nothing written.

#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "actors/entity.hpp"
#include "actors/orders/order_desk.hpp"
#include "tests/actors/runtime_fixture.hpp"

namespace billow::test {
namespace {

namespace json = boost::json;
using orders::order_problem;
using orders::order_reply;
using orders::service_order;

class order_desk_test : public runtime_fixture {
protected:
  void SetUp() override {
    runtime_fixture::SetUp();
    clients = actors::make_client_registry(*sys, ctx);
    products = actors::make_product_registry(*sys, ctx);
    billing = billing::make_billing_registry(*sys, ctx, {});
    desk = orders::make_order_desk(*sys,
                                   {services, clients, products, billing});
  }

  void TearDown() override {
    for (const auto& h : {caf::actor_cast<caf::actor>(desk),
                          caf::actor_cast<caf::actor>(billing),
                          caf::actor_cast<caf::actor>(clients),
                          caf::actor_cast<caf::actor>(products)}) {
      self()->send_exit(h, caf::exit_reason::kill);
      self()->wait_for(h);
    }
    desk = nullptr;
    billing = nullptr;
    clients = nullptr;
    products = nullptr;
    runtime_fixture::TearDown();
  }

  template <class Registry>
  events::uuid create(const Registry& registry, const json::object& fields) {
    auto id = events::uuid::random();
    actors::entity_command cmd;
    cmd.fields = json::serialize(fields);
    EXPECT_TRUE(ask<actors::command_result>(
      registry, actors::ent_cmd_atom::value, id, cmd));
    return id;
  }

  events::uuid client_in(const std::string& currency) {
    return create(clients, {{"name", "sealed"}, {"currency", currency}});
  }

  /// A product on the test module priced monthly and annually in EUR (the
  /// monthly price with a setup fee).
  events::uuid hosting() {
    json::array prices{json::object{{"currency", "EUR"},
                                    {"period", "monthly"},
                                    {"amount", "9.90"},
                                    {"setup_fee", "5.00"}},
                       json::object{{"currency", "EUR"},
                                    {"period", "annually"},
                                    {"amount", "99.00"}}};
    return create(
      products,
      {{"name", "Hosting"},
       {"module", json::object{{"type", "Product"}, {"name", "test"}}},
       {"prices", prices}});
  }

  caf::expected<order_reply> order(const events::uuid& id,
                                   const service_order& o) {
    return ask<order_reply>(desk, orders::order_atom::value, id, o);
  }

  static service_order of(const events::uuid& client,
                          const events::uuid& product,
                          std::string period = {}) {
    service_order o;
    o.client_id = client;
    o.product_id = product;
    o.period = std::move(period);
    o.actor = "admin:test";
    return o;
  }

  json::object invoice(const std::string& id) {
    billing::billing_command cmd;
    cmd.op = "invoice.get";
    cmd.invoice_id = *events::uuid::parse(id);
    auto r = ask<billing::billing_reply>(billing,
                                         billing::billing_cmd_atom::value, cmd);
    EXPECT_TRUE(r) << to_string(r.error());
    return r ? json::parse(r->body).as_object() : json::object{};
  }

  actors::client_registry_actor clients;
  actors::product_registry_actor products;
  billing::billing_registry_actor billing;
  orders::order_desk_actor desk;
};

} // namespace

TEST_F(order_desk_test, an_order_is_opened_priced_and_invoiced_in_one_message) {
  auto client = client_in("EUR");
  auto product = hosting();
  auto id = events::uuid::random();
  auto r = order(id, of(client, product, "monthly"));
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_TRUE(r->problems.empty());
  EXPECT_EQ(r->service.id, id);
  EXPECT_EQ(r->service.status, actors::service_status::pending);
  EXPECT_EQ(r->service.module, "Product/test");
  EXPECT_EQ(r->service.period, "monthly");
  EXPECT_TRUE(r->job_id.is_nil());
  ASSERT_FALSE(r->invoice_id.empty());
  EXPECT_EQ(r->invoice_id,
            events::to_string(
              actors::derive_uuid("order-invoice", events::to_string(id), 0)));
  auto inv = invoice(r->invoice_id);
  EXPECT_EQ(inv.at("status").as_string(), "unpaid");
  EXPECT_EQ(inv.at("total").as_string(), "14.90"); // the period and the fee
  EXPECT_EQ(inv.at("service_id").as_string(), events::to_string(id));
  EXPECT_EQ(inv.at("items").at(0).at("description").as_string().find("Hosting"),
            0u)
    << json::serialize(inv);
}

TEST_F(order_desk_test, provision_now_creates_the_service_at_once) {
  auto client = client_in("EUR");
  auto product = hosting();
  auto o = of(client, product, "annually");
  o.provision_now = true;
  o.label = "shop";
  auto r = order(events::uuid::random(), o);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_FALSE(r->job_id.is_nil());
  EXPECT_EQ(r->service.label, "shop");
  EXPECT_EQ(r->service.period, "annually");
  EXPECT_FALSE(r->invoice_id.empty());
  EXPECT_TRUE(wait_job(r->job_id, actors::job_status::completed));
}

TEST_F(order_desk_test, a_repeated_order_with_its_key_writes_nothing_more) {
  auto client = client_in("EUR");
  auto product = hosting();
  auto o = of(client, product, "monthly");
  o.provision_now = true;
  o.idempotency_key = "order-1";
  auto id = events::uuid::random();
  auto first = order(id, o);
  ASSERT_TRUE(first) << to_string(first.error());
  ASSERT_TRUE(wait_job(first->job_id, actors::job_status::completed));
  ASSERT_TRUE(eventually([&] {
    auto v = service(id);
    return v && v->status == actors::service_status::active;
  }));
  auto head = store->last_position();
  auto again = order(id, o);
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_EQ(again->job_id, first->job_id);
  EXPECT_EQ(again->invoice_id, first->invoice_id);
  EXPECT_EQ(store->last_position(), head);
}

TEST_F(order_desk_test, unknown_client_and_product_are_both_named) {
  auto head = store->last_position();
  auto r = order(events::uuid::random(),
                 of(events::uuid::random(), events::uuid::random()));
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->problems,
            (std::vector<order_problem>{{"client_id", "no such client"},
                                        {"product_id", "no such product"}}));
  EXPECT_EQ(store->last_position(), head);
}

TEST_F(order_desk_test, an_erased_client_orders_nothing) {
  auto client = client_in("EUR");
  actors::entity_command erase;
  erase.op = actors::entity_op::erase;
  erase.reason = "asked";
  ASSERT_TRUE(ask<actors::command_result>(clients, actors::ent_cmd_atom::value,
                                          client, erase));
  auto product = hosting();
  auto head = store->last_position();
  auto id = events::uuid::random();
  auto r = order(id, of(client, product, "monthly"));
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(
    r->problems,
    (std::vector<order_problem>{{"client_id", "the client has been erased"}}));
  EXPECT_EQ(store->last_position(), head);
  EXPECT_TRUE(types(actors::service_stream(id)).empty());
}

TEST_F(order_desk_test, a_period_without_a_price_is_the_pricing_s_problem) {
  auto product = hosting();
  auto eur = client_in("EUR");
  auto usd_client = client_in("USD");
  auto head = store->last_position();
  auto r = order(events::uuid::random(), of(eur, product));
  ASSERT_TRUE(r) << to_string(r.error());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].field, "period");
  EXPECT_EQ(r->problems[0].message.rfind("is required", 0), 0u);
  auto usd = order(events::uuid::random(), of(usd_client, product));
  ASSERT_TRUE(usd);
  ASSERT_EQ(usd->problems.size(), 1u);
  EXPECT_EQ(usd->problems[0].field, "client_id");
  EXPECT_EQ(store->last_position(), head);
}

TEST_F(order_desk_test, a_product_without_prices_is_opened_uninvoiced) {
  auto client = client_in("EUR");
  auto product = create(products, {{"name", "Free"}, {"module", nullptr}});
  auto r = order(events::uuid::random(), of(client, product, "weekly"));
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_TRUE(r->problems.empty());
  EXPECT_EQ(r->service.period, "weekly");
  EXPECT_EQ(r->service.module, "");
  EXPECT_TRUE(r->invoice_id.empty());
}

} // namespace billow::test
