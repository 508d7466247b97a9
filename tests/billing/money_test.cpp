// The money core (actors/billing/money.hpp): exact parsing and printing of
// amounts and rates, half-up rounding, tax, and allocations that add up.
// Hand-checked examples first, then property tests over many random cases
// from a fixed seed (printed on failure).

#include "actors/billing/money.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "actors/billing/currency.hpp"
#include "events/errc.hpp"

using namespace billow;
using namespace billow::billing;

namespace {

// `__extension__`: -Wpedantic otherwise refuses the GCC and Clang built-in.
__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

constexpr int64_t int64_max = std::numeric_limits<int64_t>::max();
constexpr int64_t int64_min = std::numeric_limits<int64_t>::min();

/// The seed of every property test; change it to explore other cases.
constexpr uint64_t seed = 20240611;

/// How many random cases each property test runs.
constexpr int cases = 10'000;

const currency& cur(std::string_view code) {
  const auto* c = find_currency(code);
  if (c == nullptr)
    throw std::logic_error("no currency " + std::string(code));
  return *c;
}

/// The detail of a refusal, or a note that there was none.
template <class T>
std::string refusal(const caf::expected<T>& x) {
  if (x)
    return "(accepted)";
  EXPECT_EQ(errc_of(x.error()), billow_errc::invalid_argument);
  return detail_of(x.error());
}

/// A random `int64_t` whose magnitude has a random number of bits, so small
/// and large values are both common; now and then an extreme.
int64_t random_int64(std::mt19937_64& rng) {
  auto pick = rng() % 64;
  if (pick == 0)
    return int64_max;
  if (pick == 1)
    return int64_min;
  auto bits = static_cast<int>(rng() % 64);
  auto magnitude = static_cast<int64_t>(bits == 0 ? 0 : rng() >> (64 - bits));
  return (rng() & 1) ? -magnitude : magnitude;
}

int64_t random_in(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>{lo, hi}(rng);
}

std::string to_string(i128 x) {
  if (x == 0)
    return "0";
  bool negative = x < 0;
  u128 m = negative ? u128{0} - static_cast<u128>(x) : static_cast<u128>(x);
  std::string out;
  while (m != 0) {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
  }
  return negative ? "-" + out : out;
}

i128 abs128(i128 x) {
  return x < 0 ? -x : x;
}

} // namespace

// -- the currency table -------------------------------------------------------

TEST(currency_table, knows_the_minor_units_of_iso_4217) {
  EXPECT_EQ(cur("EUR").exponent, 2);
  EXPECT_EQ(cur("USD").exponent, 2);
  EXPECT_EQ(cur("JPY").exponent, 0);
  EXPECT_EQ(cur("KRW").exponent, 0);
  EXPECT_EQ(cur("KWD").exponent, 3);
  EXPECT_EQ(cur("BHD").exponent, 3);
  EXPECT_EQ(cur("TND").exponent, 3);
  EXPECT_EQ(cur("CLF").exponent, 4);
  EXPECT_EQ(cur("UYW").exponent, 4);
  EXPECT_EQ(cur("XOF").exponent, 0);
  EXPECT_EQ(cur("EUR").code, "EUR");
}

TEST(currency_table, leaves_out_codes_without_minor_units_and_unknown_codes) {
  for (auto code : {"XAU", "XAG", "XDR", "XXX", "XTS", "XSU", "XUA", "ABC",
                    "HRK", "", "EU", "EURO"})
    EXPECT_EQ(find_currency(code), nullptr) << code;
}

TEST(currency_table, matches_codes_exactly_without_case_folding) {
  EXPECT_EQ(find_currency("eur"), nullptr);
  EXPECT_EQ(find_currency("Eur"), nullptr);
  EXPECT_NE(find_currency("EUR"), nullptr);
}

TEST(currency_table, holds_every_current_code_once_sorted) {
  auto all = all_currencies();
  EXPECT_GE(all.size(), 160u);
  std::set<std::string_view> seen;
  for (const auto& c : all) {
    EXPECT_EQ(c.code.size(), 3u) << c.code;
    EXPECT_TRUE(std::all_of(c.code.begin(), c.code.end(),
                            [](char ch) {
                              return ch >= 'A' && ch <= 'Z';
                            }))
      << c.code;
    EXPECT_GE(c.exponent, 0) << c.code;
    EXPECT_LE(c.exponent, 4) << c.code;
    EXPECT_TRUE(seen.insert(c.code).second) << c.code << " twice";
    EXPECT_EQ(find_currency(c.code), &c) << c.code;
  }
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const currency& x, const currency& y) {
                               return x.code < y.code;
                             }));
}

TEST(currency_table, minor_per_major_is_ten_to_the_exponent) {
  EXPECT_EQ(minor_per_major(cur("JPY")), 1);
  EXPECT_EQ(minor_per_major(cur("EUR")), 100);
  EXPECT_EQ(minor_per_major(cur("KWD")), 1000);
  EXPECT_EQ(minor_per_major(cur("CLF")), 10000);
}

// -- parsing and printing amounts ---------------------------------------------

TEST(amount, parses_exactly_the_currency_decimals) {
  EXPECT_EQ(parse_amount("12.50", cur("EUR")), 1250);
  EXPECT_EQ(parse_amount("1200", cur("JPY")), 1200);
  EXPECT_EQ(parse_amount("1.250", cur("KWD")), 1250);
  EXPECT_EQ(parse_amount("0.0001", cur("CLF")), 1);
  EXPECT_EQ(parse_amount("-0.50", cur("EUR")), -50);
  EXPECT_EQ(parse_amount("0.00", cur("EUR")), 0);
  EXPECT_EQ(parse_amount("-0.00", cur("EUR")), 0);
  EXPECT_EQ(parse_amount("0", cur("JPY")), 0);
}

TEST(amount, with_too_few_or_too_many_decimals_is_refused) {
  const std::string eur = "must have exactly 2 decimals for EUR, such as "
                          "\"12.50\"";
  EXPECT_EQ(refusal(parse_amount("12.5", cur("EUR"))), eur);
  EXPECT_EQ(refusal(parse_amount("12.500", cur("EUR"))), eur);
  EXPECT_EQ(refusal(parse_amount("12", cur("EUR"))), eur);
  EXPECT_EQ(refusal(parse_amount("12.", cur("EUR"))), eur);
  EXPECT_EQ(refusal(parse_amount("1.25", cur("KWD"))),
            "must have exactly 3 decimals for KWD, such as \"1.250\"");
  EXPECT_EQ(refusal(parse_amount("1200.00", cur("JPY"))),
            "must be a whole number such as \"1200\" for JPY (no decimals)");
  EXPECT_EQ(refusal(parse_amount("1200.", cur("JPY"))),
            "must be a whole number such as \"1200\" for JPY (no decimals)");
}

TEST(amount, in_other_notations_is_refused) {
  const auto& eur = cur("EUR");
  EXPECT_EQ(refusal(parse_amount("1e3", cur("JPY"))),
            "must be written in plain digits, not exponent notation, such as "
            "\"1200\"");
  EXPECT_EQ(refusal(parse_amount("1.25E1", eur)),
            "must be written in plain digits, not exponent notation, such as "
            "\"12.50\"");
  EXPECT_EQ(refusal(parse_amount("+12.50", eur)),
            "must not start with \"+\", such as \"12.50\"");
  EXPECT_EQ(refusal(parse_amount(" 12.50", eur)),
            "must not contain spaces, such as \"12.50\"");
  EXPECT_EQ(refusal(parse_amount("12.50 ", eur)),
            "must not contain spaces, such as \"12.50\"");
  EXPECT_EQ(refusal(parse_amount("- 12.50", eur)),
            "must not contain spaces, such as \"12.50\"");
  EXPECT_EQ(refusal(parse_amount(".50", eur)),
            "must have a digit before the \".\", such as \"12.50\"");
  EXPECT_EQ(refusal(parse_amount("-.50", eur)),
            "must have a digit before the \".\", such as \"12.50\"");
  EXPECT_EQ(refusal(parse_amount("-", eur)),
            "must have digits after \"-\", such as \"-12.50\"");
  EXPECT_EQ(refusal(parse_amount("", eur)),
            "must not be empty; write a value such as \"12.50\"");
  EXPECT_EQ(refusal(parse_amount("1.2.50", eur)),
            "must have at most one \".\", such as \"12.50\"");
  for (auto text : {"12,50", "--12.50", "12.5O", "0x10", "€12.50", "12.50-"})
    EXPECT_EQ(refusal(parse_amount(text, eur)),
              "must contain only digits, an optional leading \"-\" and a "
              "\".\" before the decimals, such as \"12.50\"")
      << text;
}

TEST(amount, at_the_limits_of_int64_parses_and_one_past_is_refused) {
  const auto& eur = cur("EUR");
  EXPECT_EQ(parse_amount("92233720368547758.07", eur), int64_max);
  EXPECT_EQ(parse_amount("-92233720368547758.08", eur), int64_min);
  const std::string too_large
    = "is too large for EUR: amounts range from \"-92233720368547758.08\" to "
      "\"92233720368547758.07\"";
  EXPECT_EQ(refusal(parse_amount("92233720368547758.08", eur)), too_large);
  EXPECT_EQ(refusal(parse_amount("-92233720368547758.09", eur)), too_large);
  EXPECT_EQ(refusal(parse_amount("99999999999999999999999999999.00", eur)),
            too_large);
  EXPECT_EQ(parse_amount("9223372036854775807", cur("JPY")), int64_max);
  EXPECT_FALSE(parse_amount("9223372036854775808", cur("JPY")));
}

TEST(amount, prints_with_exactly_the_currency_decimals) {
  EXPECT_EQ(format_amount(1250, cur("EUR")), "12.50");
  EXPECT_EQ(format_amount(-50, cur("EUR")), "-0.50");
  EXPECT_EQ(format_amount(5, cur("EUR")), "0.05");
  EXPECT_EQ(format_amount(0, cur("EUR")), "0.00");
  EXPECT_EQ(format_amount(1200, cur("JPY")), "1200");
  EXPECT_EQ(format_amount(-7, cur("JPY")), "-7");
  EXPECT_EQ(format_amount(1250, cur("KWD")), "1.250");
  EXPECT_EQ(format_amount(1, cur("CLF")), "0.0001");
  EXPECT_EQ(format_amount(int64_min, cur("EUR")), "-92233720368547758.08");
  EXPECT_EQ(format_amount(int64_max, cur("JPY")), "9223372036854775807");
}

// -- JSON money fields --------------------------------------------------------

TEST(money_field, reads_a_json_string) {
  EXPECT_EQ(parse_money_field(boost::json::value("12.50"), cur("EUR")), 1250);
  EXPECT_EQ(parse_money_field(boost::json::value("1200"), "JPY"), 1200);
  EXPECT_EQ(parse_money_field(boost::json::value("1.250"), "KWD"), 1250);
}

TEST(money_field, that_is_a_json_number_is_refused) {
  EXPECT_EQ(refusal(parse_money_field(boost::json::parse("12.5"), "EUR")),
            "must be a string such as \"12.50\", not a JSON number");
  EXPECT_EQ(refusal(parse_money_field(boost::json::parse("1250"), "EUR")),
            "must be a string such as \"12.50\", not a JSON number");
  EXPECT_EQ(refusal(parse_money_field(boost::json::parse("1200"), "JPY")),
            "must be a string such as \"1200\", not a JSON number");
  EXPECT_EQ(refusal(parse_money_field(boost::json::parse("null"), "EUR")),
            "must be a string such as \"12.50\", not a JSON null");
  EXPECT_EQ(refusal(parse_money_field(boost::json::parse("true"), "EUR")),
            "must be a string such as \"12.50\", not a JSON boolean");
  EXPECT_EQ(refusal(parse_money_field(boost::json::parse("{}"), "EUR")),
            "must be a string such as \"12.50\", not a JSON object");
}

TEST(money_field, with_the_wrong_decimals_says_what_to_write) {
  EXPECT_EQ(refusal(parse_money_field(boost::json::value("12.5"), "EUR")),
            "must have exactly 2 decimals for EUR, such as \"12.50\"");
  EXPECT_EQ(refusal(parse_money_field(boost::json::value("12.50"), "JPY")),
            "must be a whole number such as \"1200\" for JPY (no decimals)");
}

TEST(money_field, in_an_unknown_currency_is_refused) {
  const std::string abc = "cannot be in currency \"ABC\": not a current ISO "
                          "4217 code (uppercase, such as \"EUR\")";
  EXPECT_EQ(refusal(parse_money_field(boost::json::value("12.50"), "ABC")),
            abc);
  EXPECT_EQ(refusal(require_currency("ABC")), abc);
  EXPECT_FALSE(parse_money_field(boost::json::value("12.50"), "eur"));
  EXPECT_FALSE(parse_money_field(boost::json::value("1.00"), "XAU"));
  ASSERT_TRUE(require_currency("EUR"));
  EXPECT_EQ(*require_currency("EUR"), find_currency("EUR"));
}

// -- checked arithmetic -------------------------------------------------------

TEST(checked_arithmetic, refuses_overflow) {
  EXPECT_EQ(checked_add(1250, -50), 1200);
  EXPECT_EQ(checked_add(int64_max, 0), int64_max);
  EXPECT_FALSE(checked_add(int64_max, 1));
  EXPECT_FALSE(checked_add(int64_min, -1));
  EXPECT_EQ(checked_sub(0, int64_max), -int64_max);
  EXPECT_FALSE(checked_sub(0, int64_min));
  EXPECT_FALSE(checked_sub(int64_min, 1));
  EXPECT_EQ(errc_of(checked_add(int64_max, 1).error()),
            billow_errc::invalid_argument);
  std::vector<int64_t> xs{int64_max, 1, -2};
  EXPECT_FALSE(checked_sum(xs));
  std::vector<int64_t> ys{1250, 315, -65};
  EXPECT_EQ(checked_sum(ys), 1500);
  EXPECT_EQ(checked_sum({}), 0);
}

// -- rates --------------------------------------------------------------------

TEST(rate, parses_up_to_four_decimals_exactly) {
  EXPECT_EQ(parse_rate("21.00"), rate{210'000});
  EXPECT_EQ(parse_rate("21"), rate{210'000});
  EXPECT_EQ(parse_rate("7.125"), rate{71'250});
  EXPECT_EQ(parse_rate("0.0001"), rate{1});
  EXPECT_EQ(parse_rate("0"), rate{0});
  EXPECT_EQ(parse_rate("100"), rate{rate::whole});
  EXPECT_EQ(parse_rate("100.0000"), rate{rate::whole});
}

TEST(rate, outside_zero_to_hundred_is_refused_unless_any_is_asked_for) {
  EXPECT_EQ(refusal(parse_rate("100.0001")),
            "must be a percentage from 0 to 100, such as \"21.00\"");
  EXPECT_EQ(refusal(parse_rate("-1")),
            "must be a percentage from 0 to 100, such as \"21.00\", not "
            "negative");
  EXPECT_EQ(parse_rate("-1", rate_range::any), rate{-10'000});
  EXPECT_EQ(parse_rate("150.5", rate_range::any), rate{1'505'000});
}

TEST(rate, in_other_notations_is_refused) {
  EXPECT_EQ(refusal(parse_rate("7.12345")),
            "must have at most 4 decimals, such as \"7.125\"");
  EXPECT_EQ(refusal(parse_rate("21.")),
            "must have a digit after the \".\", such as \"21.00\"");
  EXPECT_FALSE(parse_rate(".5"));
  EXPECT_FALSE(parse_rate("+21"));
  EXPECT_FALSE(parse_rate("2e1"));
  EXPECT_FALSE(parse_rate("21 %"));
  EXPECT_FALSE(parse_rate("21%"));
  EXPECT_FALSE(parse_rate(""));
  EXPECT_FALSE(parse_rate("99999999999999999999", rate_range::any));
  EXPECT_EQ(refusal(parse_rate_field(boost::json::parse("21"))),
            "must be a string such as \"21.00\", not a JSON number");
  EXPECT_EQ(parse_rate_field(boost::json::value("21.00")), rate{210'000});
}

TEST(rate, prints_at_least_two_decimals) {
  EXPECT_EQ(format_rate(rate{210'000}), "21.00");
  EXPECT_EQ(format_rate(rate{71'250}), "7.125");
  EXPECT_EQ(format_rate(rate{1}), "0.0001");
  EXPECT_EQ(format_rate(rate{0}), "0.00");
  EXPECT_EQ(format_rate(rate{rate::whole}), "100.00");
  EXPECT_EQ(format_rate(rate{215'000}), "21.50");
  EXPECT_EQ(format_rate(rate{-55'000}), "-5.50");
}

// -- rounding and tax ---------------------------------------------------------

TEST(mul_div_half_up, rounds_halves_away_from_zero) {
  EXPECT_EQ(mul_div_half_up(5, 1, 2), 3);
  EXPECT_EQ(mul_div_half_up(-5, 1, 2), -3);
  EXPECT_EQ(mul_div_half_up(5, 1, -2), -3);
  EXPECT_EQ(mul_div_half_up(-5, -1, 2), 3);
  EXPECT_EQ(mul_div_half_up(7, 1, 3), 2);
  EXPECT_EQ(mul_div_half_up(8, 1, 3), 3);
  EXPECT_EQ(mul_div_half_up(-8, 1, 3), -3);
  EXPECT_EQ(mul_div_half_up(0, 7, 3), 0);
}

TEST(mul_div_half_up, is_exact_past_int64_in_between) {
  // int64_max * int64_max overflows 64 bits; the quotient does not.
  EXPECT_EQ(mul_div_half_up(int64_max, int64_max, int64_max), int64_max);
  EXPECT_EQ(mul_div_half_up(int64_min, 3, 3), int64_min);
  EXPECT_EQ(mul_div_half_up(int64_max, 1'000'000, 2'000'000),
            int64_max / 2 + 1);
}

TEST(mul_div_half_up, refuses_a_zero_denominator_and_overflow) {
  EXPECT_FALSE(mul_div_half_up(1, 1, 0));
  EXPECT_FALSE(mul_div_half_up(int64_max, 2, 1));
  EXPECT_FALSE(mul_div_half_up(int64_min, -1, 1));
  EXPECT_EQ(errc_of(mul_div_half_up(int64_max, 2, 1).error()),
            billow_errc::invalid_argument);
}

TEST(tax, of_21_percent_on_15_euros_is_3_15) {
  EXPECT_EQ(percent_of(1500, *parse_rate("21.00")), 315);
}

TEST(tax, rounds_half_a_minor_unit_up) {
  auto five = *parse_rate("5");
  EXPECT_EQ(percent_of(10, five), 1);                    // 0.5 up
  EXPECT_EQ(percent_of(-10, five), -1);                  // -0.5 away from zero
  EXPECT_EQ(percent_of(9, five), 0);                     // 0.45 down
  EXPECT_EQ(percent_of(1000, *parse_rate("7.125")), 71); // 71.25
  EXPECT_EQ(percent_of(1004, *parse_rate("7.125")), 72); // 71.535
}

TEST(tax, included_in_a_gross_price_leaves_the_net_exactly) {
  auto vat = *parse_rate("21.00");
  EXPECT_EQ(tax_included_in(1815, vat), 315); // 18.15 = 15.00 + 3.15
  EXPECT_EQ(tax_included_in(1210, vat), 210);
  EXPECT_EQ(tax_included_in(100, vat), 17); // net 82.64... rounds to 83
  EXPECT_EQ(tax_included_in(-1815, vat), -315);
  EXPECT_EQ(tax_included_in(1815, rate{0}), 0);
  EXPECT_FALSE(tax_included_in(100, rate{-rate::whole}));
}

TEST(tax, per_line_and_per_invoice_round_differently_and_both_add_up) {
  // Three lines of 0.05 at 10 %: each is 0.005, rounded up per line; the
  // invoice's 0.015 rounds to 0.02 once.
  auto ten = *parse_rate("10");
  std::vector<int64_t> lines{5, 5, 5};
  auto per_line = tax_lines(lines, ten, tax_rounding::per_line);
  ASSERT_TRUE(per_line);
  EXPECT_EQ(per_line->lines, (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(per_line->total, 3);
  auto per_invoice = tax_lines(lines, ten, tax_rounding::per_invoice);
  ASSERT_TRUE(per_invoice);
  EXPECT_EQ(per_invoice->lines, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(per_invoice->total, 2);
  auto none = tax_lines({}, ten, tax_rounding::per_invoice);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->lines.empty());
  EXPECT_EQ(none->total, 0);
}

// -- allocation ---------------------------------------------------------------

TEST(allocate, ten_euros_over_the_744_hours_of_a_31_day_month_add_up) {
  auto hours = allocate_evenly(1000, 744);
  ASSERT_TRUE(hours);
  ASSERT_EQ(hours->size(), 744u);
  int64_t sum = 0;
  for (auto h : *hours)
    sum += h;
  EXPECT_EQ(sum, 1000);
  EXPECT_EQ(std::count(hours->begin(), hours->end(), 2), 256);
  EXPECT_EQ(std::count(hours->begin(), hours->end(), 1), 488);
  EXPECT_EQ(hours->front(), 2);
  EXPECT_EQ(hours->back(), 1);
  std::vector<int64_t> ones(744, 1);
  EXPECT_EQ(allocate(1000, ones), hours);
}

TEST(allocate, gives_leftover_units_to_the_largest_remainders) {
  std::vector<int64_t> thirds{1, 1, 1};
  EXPECT_EQ(allocate(100, thirds), (std::vector<int64_t>{34, 33, 33}));
  EXPECT_EQ(allocate(-100, thirds), (std::vector<int64_t>{-34, -33, -33}));
  // Shares 14.2857, 28.5714, 57.1428: remainders .2857 .5714 .1428.
  std::vector<int64_t> sevenths{1, 2, 4};
  EXPECT_EQ(allocate(100, sevenths), (std::vector<int64_t>{14, 29, 57}));
  std::vector<int64_t> with_zero{0, 1, 0};
  EXPECT_EQ(allocate(10, with_zero), (std::vector<int64_t>{0, 10, 0}));
  std::vector<int64_t> one{7};
  EXPECT_EQ(allocate(int64_min, one), (std::vector<int64_t>{int64_min}));
  EXPECT_EQ(allocate_evenly(-5, 2), (std::vector<int64_t>{-3, -2}));
  EXPECT_EQ(allocate_evenly(0, 3), (std::vector<int64_t>{0, 0, 0}));
}

TEST(allocate, refuses_no_negative_or_all_zero_weights) {
  EXPECT_EQ(refusal(allocate(100, {})), "cannot be split over no parts");
  std::vector<int64_t> negative{1, -1};
  EXPECT_EQ(refusal(allocate(100, negative)),
            "cannot be split by a negative weight (-1)");
  std::vector<int64_t> zeros{0, 0};
  EXPECT_EQ(refusal(allocate(100, zeros)),
            "cannot be split by weights that are all 0");
  EXPECT_EQ(refusal(allocate_evenly(100, 0)), "cannot be split over no parts");
}

// -- properties ---------------------------------------------------------------

TEST(money_property, every_currency_round_trips_through_text) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng{seed};
  for (const auto& c : all_currencies()) {
    for (int i = 0; i < cases; ++i) {
      auto x = random_int64(rng);
      auto text = format_amount(x, c);
      auto back = parse_amount(text, c);
      ASSERT_TRUE(back) << c.code << " case " << i << ": " << text << ": "
                        << refusal(back);
      ASSERT_EQ(*back, x) << c.code << " case " << i << ": " << text;
    }
  }
}

TEST(money_property, accepted_text_is_canonical_up_to_zeros_and_sign) {
  // Random short texts over the characters an amount is made of: whatever
  // parses prints back the same, but for leading zeros and "-0".
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng{seed};
  const std::string alphabet = "0123456789.-+e ";
  int accepted = 0;
  for (int i = 0; i < cases * 10; ++i) {
    const auto& c = all_currencies()[rng() % all_currencies().size()];
    std::string text;
    auto length = 1 + rng() % 8;
    for (size_t k = 0; k < length; ++k)
      text.push_back(rng() % 3 == 0 ? alphabet[rng() % alphabet.size()]
                                    : alphabet[rng() % 10]);
    auto x = parse_amount(text, c);
    if (!x)
      continue;
    ++accepted;
    // The canonical form: no leading zeros, no sign on zero.
    std::string expected = text;
    bool negative = !expected.empty() && expected[0] == '-';
    if (negative)
      expected.erase(0, 1);
    auto int_end = std::min(expected.find('.'), expected.size());
    auto first = expected.find_first_not_of('0');
    auto keep_from = std::min(first, int_end - 1);
    expected.erase(0, keep_from);
    if (negative && expected.find_first_not_of("0.") != std::string::npos)
      expected.insert(expected.begin(), '-');
    ASSERT_EQ(format_amount(*x, c), expected)
      << c.code << " case " << i << ": " << text;
  }
  EXPECT_GT(accepted, 100);
}

TEST(money_property, rates_round_trip_through_text) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng{seed};
  for (int i = 0; i < cases; ++i) {
    rate r{random_in(rng, 0, rate::whole)};
    auto text = format_rate(r);
    ASSERT_EQ(parse_rate(text), r) << "case " << i << ": " << text;
    rate any{random_int64(rng)};
    ASSERT_EQ(parse_rate(format_rate(any), rate_range::any), any)
      << "case " << i << ": " << format_rate(any);
  }
}

TEST(money_property, allocation_adds_up_and_each_part_is_within_one_unit) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng{seed};
  for (int i = 0; i < cases; ++i) {
    auto n = static_cast<size_t>(random_in(rng, 1, 50));
    auto max_weight = int64_t{1} << random_in(rng, 0, 40);
    std::vector<int64_t> weights(n);
    for (auto& w : weights)
      w = rng() % 4 == 0 ? 0 : random_in(rng, 0, max_weight);
    weights[rng() % n] = random_in(rng, 1, max_weight);
    auto total = random_int64(rng);
    auto parts = allocate(total, weights);
    ASSERT_TRUE(parts) << "case " << i << ": " << refusal(parts);
    ASSERT_EQ(parts->size(), n);
    i128 weight_sum = 0;
    for (auto w : weights)
      weight_sum += w;
    i128 sum = 0;
    for (size_t k = 0; k < n; ++k) {
      sum += (*parts)[k];
      // |part - total * w / W| < 1, scaled by W.
      auto error
        = abs128(i128{(*parts)[k]} * weight_sum - i128{total} * weights[k]);
      ASSERT_LT(error, weight_sum)
        << "case " << i << " part " << k << ": total " << total << " weight "
        << weights[k] << " of " << to_string(weight_sum);
      if (weights[k] == 0) {
        ASSERT_EQ((*parts)[k], 0) << "case " << i << " part " << k;
      }
    }
    ASSERT_EQ(sum, i128{total}) << "case " << i;
  }
}

TEST(money_property, even_allocation_adds_up_and_differs_by_at_most_one) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng{seed};
  for (int i = 0; i < cases; ++i) {
    auto n = static_cast<size_t>(random_in(rng, 1, 800));
    auto total = random_int64(rng);
    auto parts = allocate_evenly(total, n);
    ASSERT_TRUE(parts);
    i128 sum = 0;
    for (auto p : *parts)
      sum += p;
    ASSERT_EQ(sum, i128{total}) << "case " << i;
    auto [lo, hi] = std::minmax_element(parts->begin(), parts->end());
    ASSERT_LE(i128{*hi} - *lo, 1) << "case " << i;
  }
}

TEST(money_property, tax_per_line_and_per_invoice_are_the_sums_of_their_parts) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng{seed};
  for (int i = 0; i < cases; ++i) {
    auto n = static_cast<size_t>(random_in(rng, 1, 30));
    std::vector<int64_t> amounts(n);
    for (auto& a : amounts)
      a = rng() % 5 == 0 ? random_in(rng, -100'000, 0)
                         : random_in(rng, 0, 1'000'000'000);
    rate r{random_in(rng, 0, rate::whole)};
    bool gross = rng() & 1;
    auto tax_of = [&](int64_t x) {
      return gross ? *tax_included_in(x, r) : *percent_of(x, r);
    };
    // The exact tax of x is x * num / den.
    i128 num = r.units;
    i128 den = gross ? rate::whole + r.units : rate::whole;
    int64_t sum = 0;
    for (auto a : amounts)
      sum += a;
    auto per_line = tax_lines(amounts, r, tax_rounding::per_line, gross);
    auto per_invoice = tax_lines(amounts, r, tax_rounding::per_invoice, gross);
    ASSERT_TRUE(per_line && per_invoice) << "case " << i;
    ASSERT_EQ(per_line->lines.size(), n);
    ASSERT_EQ(per_invoice->lines.size(), n);
    int64_t line_sum = 0;
    int64_t invoice_sum = 0;
    for (size_t k = 0; k < n; ++k) {
      ASSERT_EQ(per_line->lines[k], tax_of(amounts[k]))
        << "case " << i << " line " << k;
      auto error = abs128(i128{per_invoice->lines[k]} * den - amounts[k] * num);
      ASSERT_LE(error, den) << "case " << i << " line " << k;
      line_sum += per_line->lines[k];
      invoice_sum += per_invoice->lines[k];
    }
    ASSERT_EQ(per_line->total, line_sum) << "case " << i;
    ASSERT_EQ(per_invoice->total, invoice_sum) << "case " << i;
    ASSERT_EQ(per_invoice->total, tax_of(sum)) << "case " << i;
    // Each rounding is off by half a unit at most: n of them per line, one
    // per invoice.
    ASSERT_LE(2 * abs128(i128{per_line->total} - per_invoice->total),
              static_cast<i128>(n + 1))
      << "case " << i;
  }
}

TEST(money_property, tax_in_a_gross_amount_leaves_the_nearest_net) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng{seed};
  for (int i = 0; i < cases; ++i) {
    auto gross = random_in(rng, -(int64_t{1} << 50), int64_t{1} << 50);
    rate r{random_in(rng, 0, rate::whole)};
    auto tax = tax_included_in(gross, r);
    ASSERT_TRUE(tax);
    auto net = gross - *tax;
    // net is gross * 100 / (100 + r) rounded to the nearest unit.
    i128 den = rate::whole + r.units;
    auto error = abs128(i128{net} * den - i128{gross} * rate::whole);
    ASSERT_LE(2 * error, den)
      << "case " << i << ": gross " << gross << " rate " << format_rate(r);
    ASSERT_EQ(net + *tax, gross);
  }
}

namespace {

/// `a * num / den` rounded half away from zero, from unsigned 128-bit
/// magnitudes: floor((2|n| + |d|) / (2|d|)) with the sign put back. Nothing
/// when the result does not fit in `int64_t`.
std::optional<int64_t> reference_mul_div(int64_t a, int64_t num, int64_t den) {
  auto magnitude = [](int64_t x) {
    return x < 0 ? u128{0} - static_cast<u128>(static_cast<i128>(x))
                 : static_cast<u128>(x);
  };
  u128 n = magnitude(a) * magnitude(num);
  u128 d = magnitude(den);
  u128 q = (2 * n + d) / (2 * d);
  bool negative = ((a < 0) != (num < 0)) != (den < 0);
  if (negative) {
    if (q > (u128{1} << 63))
      return std::nullopt;
    return static_cast<int64_t>(-static_cast<i128>(q));
  }
  if (q > static_cast<u128>(int64_max))
    return std::nullopt;
  return static_cast<int64_t>(q);
}

/// The same by counting: the q whose (q - 1/2, q + 1/2] holds |n|/|d|.
int64_t counted_mul_div(int64_t a, int64_t num, int64_t den) {
  auto n = std::abs(a * num);
  auto d = std::abs(den);
  int64_t q = 0;
  while (d * (2 * q + 1) <= 2 * n)
    ++q;
  return ((a < 0) != (num < 0)) != (den < 0) ? -q : q;
}

} // namespace

TEST(money_property, mul_div_half_up_matches_slow_references) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng{seed};
  for (int i = 0; i < cases; ++i) {
    auto a = random_int64(rng);
    auto num = random_int64(rng);
    auto den = random_int64(rng);
    if (den == 0)
      den = 1;
    auto got = mul_div_half_up(a, num, den);
    auto want = reference_mul_div(a, num, den);
    if (want) {
      ASSERT_TRUE(got) << "case " << i << ": " << a << " * " << num << " / "
                       << den << ": " << refusal(got);
      ASSERT_EQ(*got, *want)
        << "case " << i << ": " << a << " * " << num << " / " << den;
    } else {
      ASSERT_FALSE(got) << "case " << i << ": " << a << " * " << num << " / "
                        << den;
    }
    auto sa = random_in(rng, -100, 100);
    auto snum = random_in(rng, -100, 100);
    auto sden = random_in(rng, 1, 200) * ((rng() & 1) ? 1 : -1);
    ASSERT_EQ(mul_div_half_up(sa, snum, sden), counted_mul_div(sa, snum, sden))
      << "case " << i << ": " << sa << " * " << snum << " / " << sden;
  }
}
