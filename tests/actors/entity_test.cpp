// The client and product aggregates: their folds and decisions, and their
// actors through the registries (create, a repeated create answered as the
// first, erase, unknown ids, passivation).

#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "actors/entity.hpp"
#include "actors/entity_state.hpp"
#include "tests/actors/outcome.hpp"
#include "tests/actors/runtime_fixture.hpp"

using namespace billow;
using namespace billow::actors;
using billow::test::outcome;
using billow::test::runtime_fixture;

namespace json = boost::json;

namespace {

entity_command create_with(const json::object& fields) {
  entity_command cmd;
  cmd.op = entity_op::create;
  cmd.fields = json::serialize(fields);
  cmd.actor = "admin:test";
  return cmd;
}

const json::object client_fields{{"name", "sealed name"},
                                 {"email", "sealed email"},
                                 {"currency", "EUR"},
                                 {"balance", "0.00"},
                                 {"login", false}};

json::array hosting_prices() {
  return json::array{json::object{
    {"currency", "EUR"}, {"period", "monthly"}, {"amount", "9.90"}}};
}

json::object product_fields() {
  return {{"name", "Hosting"},
          {"module", json::object{{"type", "Product"}, {"name", "test"}}},
          {"product_data", json::object{{"plan", "s"}}},
          {"prices", hosting_prices()}};
}

} // namespace

TEST(entity_decisions, a_client_is_created_then_erased_once) {
  auto id = events::uuid::random();
  client_state st;
  auto created = decide(st, id, create_with(client_fields));
  ASSERT_EQ(outcome(created), "client.created");
  const auto& ev = created->front();
  EXPECT_EQ(ev.schema, 2u);
  EXPECT_EQ(ev.event_id, id); // the client's id is its created event's
  EXPECT_EQ(ev.payload, client_fields);
  entity_command erase;
  erase.op = entity_op::erase;
  erase.reason = "asked";
  erase.event_id = events::uuid::random();
  EXPECT_EQ(outcome(decide(st, id, erase)), "not_found");
  client_state::apply(st, ev.type, ev.payload);
  EXPECT_EQ(st.currency, "EUR");
  auto erased = decide(st, id, erase);
  ASSERT_EQ(outcome(erased), "client.erased");
  EXPECT_EQ(erased->front().payload, (json::object{{"reason", "asked"}}));
  EXPECT_EQ(erased->front().event_id, erase.event_id);
  client_state::apply(st, "client.erased", erased->front().payload);
  EXPECT_TRUE(st.erased);
  EXPECT_EQ(outcome(decide(st, id, erase)), ""); // nothing more to write
  auto back = client_state::from_json(st.to_json());
  EXPECT_TRUE(back.created);
  EXPECT_TRUE(back.erased);
  EXPECT_EQ(back.currency, "EUR");
}

TEST(entity_decisions, bad_fields_and_operations_are_refused) {
  auto id = events::uuid::random();
  entity_command cmd;
  cmd.fields = "[1]";
  EXPECT_EQ(outcome(decide(client_state{}, id, cmd)), "invalid_argument");
  EXPECT_EQ(
    outcome(decide(client_state{}, id, create_with({{"name", "no currency"}}))),
    "invalid_argument");
  EXPECT_EQ(outcome(decide(product_state{}, id, create_with({{"name", 7}}))),
            "invalid_argument");
  cmd.op = entity_op::erase;
  EXPECT_EQ(outcome(decide(product_state{}, id, cmd)), "invalid_argument");
}

TEST(entity_decisions, a_product_keeps_what_an_order_needs) {
  auto id = events::uuid::random();
  auto created = decide(product_state{}, id, create_with(product_fields()));
  ASSERT_EQ(outcome(created), "product.created");
  EXPECT_EQ(created->front().schema, 1u);
  product_state st;
  product_state::apply(st, "product.created", created->front().payload);
  EXPECT_EQ(st.name, "Hosting");
  EXPECT_EQ(st.module, "Product/test");
  EXPECT_EQ(st.prices, hosting_prices());
  EXPECT_EQ(st.product_data, (json::object{{"plan", "s"}}));
  auto view = st.view(id, 1);
  EXPECT_EQ(json::parse(view.prices), hosting_prices());
  auto back = product_state::from_json(st.to_json());
  EXPECT_EQ(back.module, "Product/test");
  EXPECT_EQ(back.prices, hosting_prices());
  product_state manual;
  auto bare = product_fields();
  bare["module"] = nullptr;
  product_state::apply(manual, "product.created", bare);
  EXPECT_EQ(manual.module, "");
}

namespace {

class entity_test : public runtime_fixture {
protected:
  void SetUp() override {
    runtime_fixture::SetUp();
    clients = make_client_registry(*sys, ctx, registry_opts);
    products = make_product_registry(*sys, ctx, registry_opts);
  }

  void TearDown() override {
    for (const auto& h : {caf::actor_cast<caf::actor>(clients),
                          caf::actor_cast<caf::actor>(products)}) {
      self()->send_exit(h, caf::exit_reason::kill);
      self()->wait_for(h);
    }
    clients = nullptr;
    products = nullptr;
    runtime_fixture::TearDown();
  }

  caf::expected<command_result> create_client(const events::uuid& id) {
    return ask<command_result>(clients, ent_cmd_atom::value, id,
                               create_with(client_fields));
  }

  caf::expected<client_view> client(const events::uuid& id) {
    return ask<client_view>(clients, query_atom::value, id);
  }

  client_registry_actor clients;
  product_registry_actor products;
};

} // namespace

TEST_F(entity_test, a_created_client_answers_its_currency_and_event) {
  auto id = events::uuid::random();
  auto r = create_client(id);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->version, 1u);
  EXPECT_FALSE(r->duplicate);
  EXPECT_GT(r->position, 0u);
  auto v = client(id);
  ASSERT_TRUE(v) << to_string(v.error());
  EXPECT_EQ(v->id, id);
  EXPECT_EQ(v->currency, "EUR");
  EXPECT_FALSE(v->erased);
  // The event is the route's, unchanged: payload, schema, id and actor.
  auto evs = store->read_stream(client_stream(id), 1,
                                events::read_direction::forward, 10);
  ASSERT_TRUE(evs);
  ASSERT_EQ(evs->size(), 1u);
  const auto& ev = evs->front();
  EXPECT_EQ(ev.type, "client.created");
  EXPECT_EQ(ev.schema, 2u);
  EXPECT_EQ(ev.event_id, id);
  EXPECT_EQ(ev.actor, "admin:test");
  EXPECT_EQ(json::parse(ev.payload), client_fields);
}

TEST_F(entity_test, a_repeated_create_answers_the_first_and_writes_nothing) {
  auto id = events::uuid::random();
  auto first = create_client(id);
  ASSERT_TRUE(first);
  auto head = store->last_position();
  auto again = create_client(id);
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->version, first->version);
  EXPECT_EQ(again->position, first->position);
  // Also once the actor is gone and the next one reads the log.
  clock.advance(registry_opts.idle_timeout + std::chrono::seconds(1));
  EXPECT_TRUE(eventually([&] {
    auto s = ask<registry_stats>(clients, stats_atom::value);
    return s && s->passivated_idle == 1 && s->live == 0;
  }));
  auto later = create_client(id);
  ASSERT_TRUE(later) << to_string(later.error());
  EXPECT_TRUE(later->duplicate);
  EXPECT_EQ(later->version, 1u);
  EXPECT_EQ(later->position, first->position);
  EXPECT_EQ(store->last_position(), head);
  EXPECT_EQ(types(client_stream(id)),
            (std::vector<std::string>{"client.created"}));
}

TEST_F(entity_test, an_erased_client_says_so_and_is_erased_once) {
  auto id = events::uuid::random();
  ASSERT_TRUE(create_client(id));
  entity_command erase;
  erase.op = entity_op::erase;
  erase.reason = "GDPR request";
  erase.event_id = events::uuid::random();
  auto r = ask<command_result>(clients, ent_cmd_atom::value, id, erase);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(r->version, 2u);
  auto v = client(id);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->erased);
  EXPECT_EQ(v->currency, "EUR");
  erase.event_id = events::uuid::random();
  auto again = ask<command_result>(clients, ent_cmd_atom::value, id, erase);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->version, 2u);
  // A late repeat of the create answers the create's own version.
  auto create_again = create_client(id);
  ASSERT_TRUE(create_again) << to_string(create_again.error());
  EXPECT_TRUE(create_again->duplicate);
  EXPECT_EQ(create_again->version, 1u);
  EXPECT_EQ(types(client_stream(id)),
            (std::vector<std::string>{"client.created", "client.erased"}));
}

TEST_F(entity_test, unknown_ids_are_not_found) {
  auto id = events::uuid::random();
  auto v = client(id);
  ASSERT_FALSE(v);
  EXPECT_EQ(errc_of(v.error()), billow_errc::not_found);
  auto p = ask<product_view>(products, query_atom::value, id);
  ASSERT_FALSE(p);
  EXPECT_EQ(errc_of(p.error()), billow_errc::not_found);
  entity_command erase;
  erase.op = entity_op::erase;
  auto r = ask<command_result>(clients, ent_cmd_atom::value, id, erase);
  ASSERT_FALSE(r);
  EXPECT_EQ(errc_of(r.error()), billow_errc::not_found);
  EXPECT_TRUE(types(client_stream(id)).empty());
}

TEST_F(entity_test, a_product_answers_its_name_module_and_prices) {
  auto id = events::uuid::random();
  auto r = ask<command_result>(products, ent_cmd_atom::value, id,
                               create_with(product_fields()));
  ASSERT_TRUE(r) << to_string(r.error());
  auto again = ask<command_result>(products, ent_cmd_atom::value, id,
                                   create_with(product_fields()));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->position, r->position);
  auto v = ask<product_view>(products, query_atom::value, id);
  ASSERT_TRUE(v) << to_string(v.error());
  EXPECT_EQ(v->name, "Hosting");
  EXPECT_EQ(v->module, "Product/test");
  EXPECT_EQ(json::parse(v->prices), hosting_prices());
  EXPECT_EQ(v->version, 1u);
  EXPECT_EQ(types(product_stream(id)),
            (std::vector<std::string>{"product.created"}));
}

TEST_F(entity_test, a_client_written_before_is_read_from_the_log) {
  // As a client created before clients were aggregates: its stream is read
  // when its actor starts.
  auto id = events::uuid::random();
  events::new_event ev;
  ev.event_id = id;
  ev.type = "client.created";
  ev.schema = 2;
  ev.actor = "admin:old";
  ev.payload = json::serialize(json::object{{"currency", "JPY"}});
  std::vector<events::new_event> evs;
  evs.push_back(std::move(ev));
  ASSERT_TRUE(store->append(
    client_stream(id), events::expected_version::no_stream(), std::move(evs)));
  auto v = client(id);
  ASSERT_TRUE(v) << to_string(v.error());
  EXPECT_EQ(v->currency, "JPY");
  EXPECT_EQ(v->version, 1u);
}
