// Ordering a service over HTTP is priced: the period must be one the product
// has a price of in the client's currency (a single period there is the
// default), and a product without prices takes any period or none. The
// service answers its period, label and product name everywhere, also
// after a restart. A refused order is a 422 naming the field, and it
// writes nothing to the log.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/api/client_fixture.hpp"

namespace json = boost::json;
using billow::test::http_reply;

namespace {

class order_test : public billow::test::client_fixture {
protected:
  /// A client (no login) paying in `currency`.
  std::string client_in(const std::string& currency) {
    auto email = std::to_string(++clients_);
    email.append("@example.com");
    auto r = call(
      "POST", "/api/v1/admin/clients", {},
      {{"name", "Client " + email}, {"email", email}, {"currency", currency}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return text(r, "id");
  }

  /// A product provisioned by hand with `prices`.
  std::string product_priced(const std::string& name,
                             const json::array& prices) {
    auto r = call("POST", "/api/v1/admin/products", {},
                  {{"name", name}, {"prices", prices}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return text(r, "id");
  }

  static json::object price(const std::string& currency,
                            const std::string& period,
                            const std::string& amount) {
    return {{"currency", currency}, {"period", period}, {"amount", amount}};
  }

  http_reply order(const json::object& body) {
    return call("POST", "/api/v1/admin/services", {}, body);
  }

  /// An order of `product` for `client`, for `period` when it is not empty.
  http_reply order(const std::string& client, const std::string& product,
                   const std::string& period = {}) {
    json::object body{{"client_id", client}, {"product_id", product}};
    if (!period.empty())
      body["period"] = period;
    return order(body);
  }

  /// Where the log ends now.
  int64_t last_position() {
    auto r = call("GET", "/api/v1/admin/events?limit=1");
    EXPECT_EQ(r.status, 200u) << r.body;
    return doc(r).at("last_position").as_int64();
  }

  /// `r` is a validation problem naming `field` (and no other), with a
  /// message holding `says`, and it reports no log position.
  static void expect_refused(const http_reply& r, const std::string& field,
                             const std::string& says) {
    EXPECT_EQ(r.status, 422u) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
    EXPECT_EQ(r.header("x-billow-position"), "") << r.body;
    auto errors = doc(r).at("errors").as_array();
    ASSERT_EQ(errors.size(), 1u) << r.body;
    EXPECT_EQ(errors[0].at("field").as_string(), field) << r.body;
    EXPECT_NE(std::string{errors[0].at("message").as_string()}.find(says),
              std::string::npos)
      << r.body;
    EXPECT_NE(std::string{doc(r).at("detail").as_string()}.find(field),
              std::string::npos)
      << r.body;
  }

  int clients_ = 0;
};

} // namespace

TEST_F(order_test, the_period_is_stored_and_every_service_answer_shows_it) {
  auto client = client_in("EUR");
  auto product = product_priced("Hosting",
                                json::array{price("EUR", "monthly", "9.90"),
                                            price("EUR", "annually", "99.00")});
  auto r = order({{"client_id", client},
                  {"product_id", product},
                  {"period", "annually"},
                  {"label", "shop \"main\" db"}});
  ASSERT_EQ(r.status, 201u) << r.body;
  auto id = text(r, "id");
  auto position = r.header("x-billow-position");
  for (const auto& answer :
       {doc(r),
        doc(call("GET",
                 "/api/v1/admin/services/" + id + "?min_position=" + position)),
        doc(call("GET", "/api/v1/admin/services?min_position=" + position))
          .at("items")
          .at(0)
          .as_object(),
        doc(call("POST", "/api/v1/admin/services/" + id + "/create", {},
                 {{"reason", "go"}}))}) {
    EXPECT_EQ(answer.at("period").as_string(), "annually")
      << json::serialize(answer);
    EXPECT_EQ(answer.at("label").as_string(), "shop \"main\" db");
    EXPECT_EQ(answer.at("product_name").as_string(), "Hosting");
  }
  // The event carries them; the projection keeps them across a restart.
  auto opened = doc(call("GET", "/api/v1/admin/events?type=service.opened"))
                  .at("items")
                  .at(0)
                  .at("payload");
  EXPECT_EQ(opened.at("period").as_string(), "annually");
  stop();
  start();
  auto again = doc(call("GET", "/api/v1/admin/services/" + id));
  EXPECT_EQ(again.at("period").as_string(), "annually");
  EXPECT_EQ(again.at("label").as_string(), "shop \"main\" db");
  EXPECT_EQ(again.at("status").as_string(), "active");
}

TEST_F(order_test, the_one_period_priced_in_the_client_s_currency_is_default) {
  auto client = client_in("USD");
  auto product = product_priced("Mail",
                                json::array{price("EUR", "monthly", "2.00"),
                                            price("EUR", "annually", "20.00"),
                                            price("USD", "quarterly", "6.00")});
  auto r = order(client, product);
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(doc(r).at("period").as_string(), "quarterly");
  EXPECT_TRUE(doc(r).at("label").is_null());
}

TEST_F(order_test, an_order_without_a_period_among_several_is_refused) {
  auto client = client_in("EUR");
  auto product = product_priced("Mail",
                                json::array{price("EUR", "monthly", "2.00"),
                                            price("EUR", "annually", "20.00")});
  auto before = last_position();
  expect_refused(order(client, product), "period", "is required");
  EXPECT_EQ(last_position(), before);
}

TEST_F(order_test, a_period_the_product_has_no_price_of_is_refused) {
  auto client = client_in("EUR");
  auto product = product_priced("Mail",
                                json::array{price("EUR", "monthly", "2.00"),
                                            price("USD", "weekly", "1.00")});
  auto before = last_position();
  // Weekly exists, but not in the client's currency: the detail says so.
  auto r = order(client, product, "weekly");
  expect_refused(r, "period", "in EUR");
  expect_refused(order(client, product, "daily"), "period",
                 "no daily price in EUR");
  // Not a period at all: refused before anything is read.
  expect_refused(order(client, product, "fortnightly"), "period",
                 "must be one of");
  EXPECT_EQ(last_position(), before);
  // With Idempotency-Key too: the refusal is kept, nothing is written.
  auto keyed = conn_->request(
    "POST", "/api/v1/admin/services",
    json::serialize(json::object{
      {"client_id", client}, {"product_id", product}, {"period", "daily"}}),
    {{"Authorization", owner_}, {"Idempotency-Key", "order-daily"}});
  expect_refused(keyed, "period", "daily");
  EXPECT_EQ(last_position(), before);
}

TEST_F(order_test, a_client_whose_currency_the_product_is_not_priced_in) {
  auto client = client_in("JPY");
  auto product = product_priced("Mail",
                                json::array{price("EUR", "monthly", "2.00")});
  auto before = last_position();
  expect_refused(order(client, product), "client_id", "no price in JPY");
  expect_refused(order(client, product, "monthly"), "client_id", "JPY");
  EXPECT_EQ(last_position(), before);
}

TEST_F(order_test, a_product_without_prices_takes_any_period_or_none) {
  auto client = client_in("EUR");
  auto product = product_priced("Free", json::array{});
  auto bare = order(client, product);
  ASSERT_EQ(bare.status, 201u) << bare.body;
  EXPECT_TRUE(doc(bare).at("period").is_null());
  EXPECT_EQ(doc(bare).at("product_name").as_string(), "Free");
  auto weekly = order(client, product, "weekly");
  ASSERT_EQ(weekly.status, 201u) << weekly.body;
  EXPECT_EQ(doc(weekly).at("period").as_string(), "weekly");
}

TEST_F(order_test, a_label_is_at_most_200_characters) {
  auto client = client_in("EUR");
  auto product = product_priced("Mail",
                                json::array{price("EUR", "monthly", "2.00")});
  auto before = last_position();
  expect_refused(order({{"client_id", client},
                        {"product_id", product},
                        {"label", std::string(201, 'x')}}),
                 "label", "at most 200");
  expect_refused(
    order({{"client_id", client}, {"product_id", product}, {"label", 7}}),
    "label", "must be a string");
  EXPECT_EQ(last_position(), before);
  auto r = order({{"client_id", client},
                  {"product_id", product},
                  {"label", std::string(200, 'x')}});
  EXPECT_EQ(r.status, 201u) << r.body;
}

TEST_F(order_test, the_client_area_shows_its_service_s_period_and_label) {
  auto client = make_client("own@example.com", "own-client-password");
  auto product = product_priced("Mail",
                                json::array{price("EUR", "monthly", "2.00")});
  auto r = order(
    {{"client_id", client}, {"product_id", product}, {"label", "inbox"}});
  ASSERT_EQ(r.status, 201u) << r.body;
  auto id = text(r, "id");
  auto position = r.header("x-billow-position");
  auto token = login("client", "own@example.com", "own-client-password");
  auto one = doc(call("GET", "/api/v1/client/services/" + id, token));
  EXPECT_EQ(one.at("period").as_string(), "monthly") << json::serialize(one);
  EXPECT_EQ(one.at("label").as_string(), "inbox");
  EXPECT_EQ(one.at("product_name").as_string(), "Mail");
  auto listed = doc(
    call("GET", "/api/v1/client/services?min_position=" + position, token));
  EXPECT_EQ(listed.at("items").at(0).at("period").as_string(), "monthly");
}
