// What an order of a product stands for: a period priced in the client's
// currency (its one period there by default), or anything for a product
// without prices.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "actors/orders/pricing.hpp"

namespace {

namespace json = boost::json;
using billow::orders::order_period;
using billow::orders::order_problem;
using billow::orders::price_of;

/// What `order_period` answers: the period, or the failing field and its
/// message.
std::string ordered(const json::array& prices, std::string_view currency,
                    std::string_view period) {
  std::vector<order_problem> problems;
  auto out = order_period(prices, currency, period, problems);
  EXPECT_EQ(out.has_value(), problems.empty());
  if (out)
    return *out;
  EXPECT_EQ(problems.size(), 1u);
  return problems.front().field + ": " + problems.front().message;
}

json::object price(const char* currency, const char* period,
                   const char* amount) {
  return {{"currency", currency}, {"period", period}, {"amount", amount}};
}

TEST(pricing_test, an_order_takes_a_period_priced_in_the_client_s_currency) {
  json::array prices{price("EUR", "monthly", "9.90"),
                     price("EUR", "annually", "99.00"),
                     price("EUR", "monthly", "8.90"),
                     price("USD", "monthly", "10.90")};
  EXPECT_EQ(ordered(prices, "EUR", "annually"), "annually");
  EXPECT_EQ(ordered(prices, "USD", "monthly"), "monthly");
  // One period in the currency (two prices of it count once): the default.
  EXPECT_EQ(ordered(prices, "USD", ""), "monthly");
  EXPECT_EQ(ordered(prices, "EUR", ""),
            "period: is required: the product has several periods in EUR "
            "(the client's currency): monthly, annually");
  EXPECT_EQ(ordered(prices, "USD", "annually"),
            "period: the product has no annually price in USD (the client's "
            "currency); its USD periods: monthly");
  EXPECT_EQ(ordered(prices, "JPY", "monthly"),
            "client_id: the client pays in JPY, and the product has no price "
            "in JPY (its prices are in EUR, USD)");
  EXPECT_EQ(ordered(prices, "JPY", ""), ordered(prices, "JPY", "monthly"));
}

TEST(pricing_test, a_product_without_prices_takes_any_period_or_none) {
  EXPECT_EQ(ordered({}, "EUR", ""), "");
  EXPECT_EQ(ordered({}, "EUR", "weekly"), "weekly");
}

TEST(pricing_test, the_price_is_the_first_of_its_currency_and_period) {
  json::array prices{price("EUR", "monthly", "9.90"),
                     price("USD", "monthly", "10.90"),
                     price("EUR", "monthly", "8.90")};
  const auto* p = price_of(prices, "EUR", "monthly");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->at("amount").as_string(), "9.90");
  EXPECT_EQ(price_of(prices, "EUR", "annually"), nullptr);
  EXPECT_EQ(price_of(prices, "JPY", "monthly"), nullptr);
}

} // namespace
