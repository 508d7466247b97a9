// Prices as the product routes take them: eleven periods, money with the
// currency's own decimals, every fee, unknown fields refused by name.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/prices.hpp"

namespace {

namespace json = boost::json;
using billow::api::field_checker;
using billow::api::parse_price;

/// The fields `price` fails on (empty: it passed).
std::string failures(const json::value& price) {
  json::object none;
  field_checker check{none};
  auto parsed = parse_price(price, "prices[0]", check);
  EXPECT_EQ(parsed.has_value(), check.ok());
  if (check.ok())
    return {};
  auto problem = json::parse(check.problem().body);
  std::string out;
  for (const auto& e : problem.at("errors").as_array())
    out += std::string{e.at("field").as_string()} + ";";
  return out;
}

json::object parsed(const json::value& price) {
  json::object none;
  field_checker check{none};
  auto p = parse_price(price, "prices[0]", check);
  EXPECT_TRUE(p) << check.problem().body;
  return p ? *p : json::object{};
}

TEST(prices_test, every_period_of_the_api_is_accepted) {
  EXPECT_EQ(billow::api::price_periods().size(), 11u);
  for (auto period : billow::api::price_periods())
    EXPECT_EQ(failures({{"currency", "EUR"},
                        {"period", std::string{period}},
                        {"amount", "9.90"}}),
              "")
      << period;
  EXPECT_EQ(failures({{"currency", "EUR"},
                      {"period", "fortnightly"},
                      {"amount", "9.90"}}),
            "prices[0].period;");
}

TEST(prices_test, money_has_the_currency_s_decimals) {
  auto jpy = parsed({{"currency", "JPY"},
                     {"period", "monthly"},
                     {"amount", "1200"},
                     {"setup_fee", "500"}});
  EXPECT_EQ(jpy.at("amount").as_string(), "1200");
  EXPECT_EQ(jpy.at("setup_fee").as_string(), "500");
  EXPECT_EQ(
    failures({{"currency", "JPY"}, {"period", "monthly"}, {"amount", "12.00"}}),
    "prices[0].amount;");
  auto kwd = parsed({{"currency", "KWD"},
                     {"period", "annually"},
                     {"amount", "1.250"},
                     {"switch_up_fee", "0.500"}});
  EXPECT_EQ(kwd.at("amount").as_string(), "1.250");
  EXPECT_EQ(
    failures({{"currency", "EUR"}, {"period", "monthly"}, {"amount", "9.9"}}),
    "prices[0].amount;");
  // Every fee is money of the price's currency.
  EXPECT_EQ(failures({{"currency", "EUR"},
                      {"period", "monthly"},
                      {"amount", "9.90"},
                      {"setup_fee", "1"},
                      {"idle_amount", "x"},
                      {"switch_up_fee", "-1.00"},
                      {"switch_down_fee", "0.00"}}),
            "prices[0].setup_fee;prices[0].idle_amount;"
            "prices[0].switch_up_fee;");
}

TEST(prices_test, numbers_unknown_currencies_and_fields_are_refused_by_name) {
  EXPECT_EQ(
    failures({{"currency", "EUR"}, {"period", "monthly"}, {"amount", 9.9}}),
    "prices[0].amount;");
  EXPECT_EQ(
    failures({{"currency", "EUX"}, {"period", "monthly"}, {"amount", "9.90"}}),
    "prices[0].currency;");
  EXPECT_EQ(
    failures({{"currency", "eur"}, {"period", "monthly"}, {"amount", "9.90"}}),
    "prices[0].currency;");
  EXPECT_EQ(failures({{"currency", "EUR"},
                      {"period", "monthly"},
                      {"amount", "9.90"},
                      {"colour", "red"}}),
            "prices[0].colour;");
  EXPECT_EQ(failures({{"currency", "EUR"}, {"period", "monthly"}}),
            "prices[0].amount;");
  EXPECT_EQ(failures("9.90"), "prices[0];");
}

TEST(prices_test, a_period_is_one_of_the_eleven) {
  EXPECT_TRUE(billow::api::is_price_period("biennially"));
  EXPECT_FALSE(billow::api::is_price_period("fortnightly"));
  EXPECT_FALSE(billow::api::is_price_period(""));
  EXPECT_EQ(billow::api::not_a_period_message().rfind("must be one of ", 0),
            0u);
}

} // namespace
