// The invoice tax engine (actors/billing/tax.hpp): tax rules as the API takes
// them, which rules apply to a client, and the totals of an invoice.
// Hand-checked examples first, then property tests over many random invoices
// from a fixed seed (printed on failure).

#include "actors/billing/tax.hpp"

#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "actors/billing/currency.hpp"
#include "actors/billing/money.hpp"
#include "events/errc.hpp"

using namespace billow;
using namespace billow::billing;

namespace {

// `__extension__`: -Wpedantic otherwise refuses the GCC and Clang built-in.
__extension__ typedef __int128 i128;

/// The seed of every property test; change it to explore other cases.
constexpr uint64_t seed = 20260311;

/// How many random cases each property test runs.
constexpr int cases = 20'000;

const currency& cur(std::string_view code) {
  const auto* c = find_currency(code);
  if (c == nullptr)
    throw std::logic_error("no currency " + std::string(code));
  return *c;
}

rate pct(std::string_view text) {
  auto r = parse_rate(text);
  if (!r)
    throw std::logic_error("bad rate " + std::string(text));
  return *r;
}

tax_rule rule(std::string name, std::string_view r, int level,
              bool compound = false, std::string country = {}) {
  return tax_rule{name + "-id",       std::move(name), pct(r),
                  std::move(country), level,           compound};
}

boost::json::object body(std::string_view text) {
  return boost::json::parse(text).as_object();
}

/// The fields of the problems, in order, joined by ','.
std::string fields_of(const validated<tax_rule>& x) {
  std::string out;
  for (const auto& p : x.problems())
    out += (out.empty() ? "" : ",") + p.field;
  return out;
}

/// The detail of the problem of `field`, or a note that there is none.
std::string detail_for(const validated<tax_rule>& x, std::string_view field) {
  for (const auto& p : x.problems())
    if (p.field == field)
      return p.detail;
  return "(no problem for " + std::string{field} + ")";
}

invoice_totals totals(std::vector<invoice_item_input> items,
                      std::vector<tax_rule> rules, bool inclusive,
                      tax_rounding mode, const currency& c = cur("EUR"),
                      bool reverse_charge = false) {
  auto result = compute_totals(items, rules, inclusive, mode, reverse_charge,
                               c);
  if (!result)
    throw std::logic_error("refused: " + detail_of(result.error()));
  return *result;
}

std::vector<int64_t> tax_lines_of(const invoice_totals& t, size_t k) {
  return t.taxes.at(k).lines;
}

} // namespace

// -- parsing tax rules --------------------------------------------------------

TEST(tax_rule_body, with_every_field_parses) {
  auto r = parse_tax_rule(body(R"({"name": "VAT", "rate": "21.00",
    "country": "NL", "level": 2, "compound": true})"));
  ASSERT_TRUE(r) << to_string(r.problems());
  EXPECT_EQ(r->id, "");
  EXPECT_EQ(r->name, "VAT");
  EXPECT_EQ(r->r, rate{210'000});
  EXPECT_EQ(r->country, "NL");
  EXPECT_EQ(r->level, 2);
  EXPECT_TRUE(r->compound);
}

TEST(tax_rule_body, without_country_and_compound_is_for_every_country) {
  auto r = parse_tax_rule(body(R"({"name": "GST", "rate": "7.125",
    "level": 1})"));
  ASSERT_TRUE(r) << to_string(r.problems());
  EXPECT_EQ(r->country, "");
  EXPECT_FALSE(r->compound);
  EXPECT_EQ(r->r, rate{71'250});
}

TEST(tax_rule_body, with_a_json_number_rate_is_refused_naming_rate) {
  auto r = parse_tax_rule(body(R"({"name": "VAT", "rate": 21, "level": 1})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(fields_of(r), "rate");
  EXPECT_EQ(detail_for(r, "rate"),
            "must be a string such as \"21.00\", not a JSON number");
}

TEST(tax_rule_body, with_a_rate_outside_a_percentage_is_refused) {
  for (auto text :
       {R"("100.01")", R"("-1")", R"("21.00001")", R"("")", R"("21,5")"}) {
    auto r = parse_tax_rule(body(std::string{R"({"name": "VAT", "level": 1,
      "rate": )"} + text + "}"));
    EXPECT_EQ(fields_of(r), "rate") << text;
  }
}

TEST(tax_rule_body, with_a_country_not_two_uppercase_letters_is_refused) {
  for (auto text : {R"("nl")", R"("NLD")", R"("N")", R"("")", R"("N1")",
                    R"(null)", R"(31)"}) {
    auto r = parse_tax_rule(body(std::string{R"({"name": "VAT", "level": 1,
      "rate": "21.00", "country": )"}
                                 + text + "}"));
    EXPECT_EQ(fields_of(r), "country") << text;
    EXPECT_EQ(detail_for(r, "country"),
              "must be an ISO 3166-1 alpha-2 code, two uppercase letters "
              "such as \"NL\"; leave it out for every country")
      << text;
  }
}

TEST(tax_rule_body, with_a_level_other_than_one_to_three_is_refused) {
  for (auto text : {"0", "4", "-1", "1.0", "1e0", R"("1")", "true", "null",
                    "18446744073709551615"}) {
    auto r = parse_tax_rule(body(std::string{R"({"name": "VAT",
      "rate": "21.00", "level": )"}
                                 + text + "}"));
    EXPECT_EQ(fields_of(r), "level") << text;
  }
  auto r = parse_tax_rule(body(R"({"name": "VAT", "rate": "21.00",
    "level": "2"})"));
  EXPECT_EQ(detail_for(r, "level"),
            "must be a whole number from 1 to 3, not a JSON string");
  r = parse_tax_rule(body(R"({"name": "VAT", "rate": "21.00", "level": 2.0})"));
  EXPECT_EQ(detail_for(r, "level"),
            "must be a whole number from 1 to 3, "
            "without a fraction or an exponent");
}

TEST(tax_rule_body, compound_on_level_one_is_refused) {
  auto r = parse_tax_rule(body(R"({"name": "VAT", "rate": "21.00",
    "level": 1, "compound": true})"));
  EXPECT_EQ(fields_of(r), "compound");
  EXPECT_EQ(detail_for(r, "compound"),
            "cannot be true on level 1: there is "
            "no lower level to compound on");
  r = parse_tax_rule(body(R"({"name": "VAT", "rate": "21.00", "level": 2,
    "compound": "yes"})"));
  EXPECT_EQ(detail_for(r, "compound"),
            "must be true or false, not a JSON string");
}

TEST(tax_rule_body, with_unknown_or_missing_fields_names_each) {
  auto r = parse_tax_rule(body(R"({"rate": 21, "id": "x", "colour": "red"})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(fields_of(r), "id,colour,name,rate,level");
  EXPECT_EQ(detail_for(r, "colour"), "is not a field of a tax rule");
  EXPECT_EQ(detail_for(r, "name"), "is required");
  EXPECT_EQ(detail_for(r, "level"), "is required");
}

TEST(tax_rule_body, with_an_empty_long_or_multiline_name_is_refused) {
  auto r = parse_tax_rule(body(R"({"name": "", "rate": "1", "level": 1})"));
  EXPECT_EQ(detail_for(r, "name"), "must not be empty");
  r = parse_tax_rule(body(R"({"name": "V\nAT", "rate": "1", "level": 1})"));
  EXPECT_EQ(fields_of(r), "name");
  boost::json::object long_name{
    {"name", std::string(101, 'x')}, {"rate", "1"}, {"level", 1}};
  EXPECT_EQ(detail_for(parse_tax_rule(long_name), "name"),
            "must be at most 100 characters long");
  // 100 characters of two bytes each are fine.
  std::string umlauts;
  for (int i = 0; i < 100; ++i)
    umlauts += "\xc3\xbc";
  long_name["name"] = umlauts;
  EXPECT_TRUE(parse_tax_rule(long_name));
}

TEST(tax_rule_json, round_trips_and_needs_an_id) {
  auto nl = rule("VAT", "21.00", 1, false, "NL");
  auto json = to_json(nl);
  EXPECT_EQ(boost::json::serialize(json),
            R"({"id":"VAT-id","name":"VAT","rate":"21.00","country":"NL",)"
            R"("level":1,"compound":false})");
  auto back = tax_rule_from_json(json);
  ASSERT_TRUE(back) << to_string(back.problems());
  EXPECT_EQ(*back, nl);
  auto everywhere = rule("QST", "9.975", 2, true);
  json = to_json(everywhere);
  EXPECT_TRUE(json.at("country").is_null());
  back = tax_rule_from_json(json);
  ASSERT_TRUE(back) << to_string(back.problems());
  EXPECT_EQ(*back, everywhere);
  json.erase("id");
  EXPECT_EQ(fields_of(tax_rule_from_json(json)), "id");
  // A request body never carries an id.
  EXPECT_EQ(fields_of(parse_tax_rule(to_json(nl))), "id");
}

// -- the rules that apply -----------------------------------------------------

TEST(applicable_rules, prefer_the_clients_country_per_level) {
  std::vector<tax_rule> rules{
    rule("VAT", "20", 1),
    rule("BTW", "21", 1, false, "NL"),
    rule("MwSt", "19", 1, false, "DE"),
    rule("Extra", "1", 2),
    rule("DE extra", "2", 2, false, "DE"),
    rule("NL city", "0.5", 3, true, "NL"),
  };
  auto nl = applicable_rules(rules, "NL");
  ASSERT_EQ(nl.size(), 3u);
  EXPECT_EQ(nl[0].name, "BTW");
  EXPECT_EQ(nl[1].name, "Extra");
  EXPECT_EQ(nl[2].name, "NL city");
  auto de = applicable_rules(rules, "DE");
  ASSERT_EQ(de.size(), 2u);
  EXPECT_EQ(de[0].name, "MwSt");
  EXPECT_EQ(de[1].name, "DE extra");
  auto fr = applicable_rules(rules, "FR");
  ASSERT_EQ(fr.size(), 2u);
  EXPECT_EQ(fr[0].name, "VAT");
  EXPECT_EQ(fr[1].name, "Extra");
  auto unknown = applicable_rules(rules, "");
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0].name, "VAT");
  EXPECT_TRUE(applicable_rules({}, "NL").empty());
}

TEST(applicable_rules, come_in_level_order_whatever_the_input_order) {
  std::vector<tax_rule> rules{rule("c", "1", 3), rule("a", "1", 1),
                              rule("b", "1", 2, false, "NL")};
  auto nl = applicable_rules(rules, "NL");
  ASSERT_EQ(nl.size(), 3u);
  EXPECT_EQ(nl[0].name, "a");
  EXPECT_EQ(nl[1].name, "b");
  EXPECT_EQ(nl[2].name, "c");
  auto be = applicable_rules(rules, "BE");
  ASSERT_EQ(be.size(), 2u);
  EXPECT_EQ(be[1].name, "c");
}

TEST(applicable_rules, take_the_first_of_two_candidates_for_one_place) {
  std::vector<tax_rule> rules{rule("first", "1", 1, false, "NL"),
                              rule("second", "2", 1, false, "NL"),
                              rule("any1", "3", 1), rule("any2", "4", 1)};
  EXPECT_EQ(applicable_rules(rules, "NL").at(0).name, "first");
  EXPECT_EQ(applicable_rules(rules, "DE").at(0).name, "any1");
}

// -- hand-checked invoices ----------------------------------------------------

TEST(invoice_totals, nl_vat_on_fifteen_euros) {
  std::vector<tax_rule> rules{rule("BTW", "21.00", 1, false, "NL")};
  for (auto mode : {tax_rounding::per_line, tax_rounding::per_invoice}) {
    auto t = totals({{1500, true}}, rules, false, mode);
    EXPECT_EQ(t.line_net, std::vector<int64_t>{1500});
    EXPECT_EQ(t.subtotal, 1500);
    ASSERT_EQ(t.taxes.size(), 1u);
    EXPECT_EQ(t.taxes[0].amount, 315);
    EXPECT_EQ(t.taxes[0].name, "BTW");
    EXPECT_EQ(t.taxes[0].rule_id, "BTW-id");
    EXPECT_EQ(t.taxes[0].r, pct("21"));
    EXPECT_EQ(t.total, 1815);
  }
}

TEST(invoice_totals, compound_level_taxes_the_lower_tax_too) {
  std::vector<tax_rule> compound{rule("GST", "10", 1),
                                 rule("PST", "5", 2, true)};
  auto t = totals({{10000, true}}, compound, false, tax_rounding::per_line);
  EXPECT_EQ(t.taxes[0].amount, 1000);
  EXPECT_EQ(t.taxes[1].amount, 550);
  EXPECT_EQ(t.subtotal, 10000);
  EXPECT_EQ(t.total, 11550);
  EXPECT_EQ(totals({{10000, true}}, compound, false, tax_rounding::per_invoice),
            t);
  std::vector<tax_rule> plain{rule("GST", "10", 1), rule("PST", "5", 2)};
  t = totals({{10000, true}}, plain, false, tax_rounding::per_line);
  EXPECT_EQ(t.taxes[1].amount, 500);
  EXPECT_EQ(t.total, 11500);
}

TEST(invoice_totals, a_compound_rule_compounds_on_every_lower_level) {
  // 100.00, then 10 % = 10.00, 5 % plain = 5.00, 2 % compound on 115.00.
  std::vector<tax_rule> rules{rule("a", "10", 1), rule("b", "5", 2),
                              rule("c", "2", 3, true)};
  auto t = totals({{10000, true}}, rules, false, tax_rounding::per_line);
  EXPECT_EQ(t.taxes[2].amount, 230);
  EXPECT_EQ(t.total, 11730);
}

TEST(invoice_totals, inclusive_prices_take_the_tax_out) {
  std::vector<tax_rule> rules{rule("BTW", "21", 1)};
  for (auto mode : {tax_rounding::per_line, tax_rounding::per_invoice}) {
    auto t = totals({{12100, true}}, rules, true, mode);
    EXPECT_EQ(t.line_net, std::vector<int64_t>{10000});
    EXPECT_EQ(t.subtotal, 10000);
    EXPECT_EQ(t.taxes[0].amount, 2100);
    EXPECT_EQ(t.total, 12100);
  }
  // 10.00 at 21 %: net 8.264... is 8.26, tax 1.74.
  auto t = totals({{1000, true}}, rules, true, tax_rounding::per_line);
  EXPECT_EQ(t.subtotal, 826);
  EXPECT_EQ(t.taxes[0].amount, 174);
}

TEST(invoice_totals, inclusive_compound_prices_work_down_from_the_gross) {
  std::vector<tax_rule> rules{rule("GST", "10", 1), rule("PST", "5", 2, true)};
  for (auto mode : {tax_rounding::per_line, tax_rounding::per_invoice}) {
    auto t = totals({{11550, true}}, rules, true, mode);
    EXPECT_EQ(t.subtotal, 10000);
    EXPECT_EQ(t.taxes[0].amount, 1000);
    EXPECT_EQ(t.taxes[1].amount, 550);
    EXPECT_EQ(t.total, 11550);
  }
  // 1.00 gross: exact net 100 / 1.155 = 86.58, taxes 8.658 and 4.762; the
  // largest remainders (.762, .658 > .580) round the taxes up: 86, 9, 5.
  auto t = totals({{100, true}}, rules, true, tax_rounding::per_line);
  EXPECT_EQ(t.line_net, std::vector<int64_t>{86});
  EXPECT_EQ(t.taxes[0].amount, 9);
  EXPECT_EQ(t.taxes[1].amount, 5);
  EXPECT_EQ(t.total, 100);
}

TEST(invoice_totals, jpy_has_no_decimals) {
  std::vector<tax_rule> rules{rule("consumption", "10", 1)};
  auto t = totals({{1234, true}}, rules, false, tax_rounding::per_line,
                  cur("JPY"));
  EXPECT_EQ(t.taxes[0].amount, 123);
  EXPECT_EQ(t.total, 1357);
}

TEST(invoice_totals, kwd_rounds_to_the_fils_half_up) {
  std::vector<tax_rule> rules{rule("VAT", "5", 1)};
  // 5 % of 1.235 is 0.06175: 0.062.
  auto t = totals({{1235, true}}, rules, false, tax_rounding::per_line,
                  cur("KWD"));
  EXPECT_EQ(t.taxes[0].amount, 62);
  EXPECT_EQ(t.total, 1297);
  // 5 % of 0.010 is 0.0005, exactly half a fils: up to 0.001.
  t = totals({{10, true}}, rules, false, tax_rounding::per_line, cur("KWD"));
  EXPECT_EQ(t.taxes[0].amount, 1);
}

TEST(invoice_totals, per_line_and_per_invoice_rounding_differ) {
  // Three lines of 0.05 at 10 %: each 0.005 exactly.
  std::vector<tax_rule> rules{rule("VAT", "10", 1)};
  std::vector<invoice_item_input> items{{5, true}, {5, true}, {5, true}};
  auto line = totals(items, rules, false, tax_rounding::per_line);
  EXPECT_EQ(tax_lines_of(line, 0), (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(line.taxes[0].amount, 3);
  EXPECT_EQ(line.total, 18);
  // Once over the invoice: 0.015 is 0.02, spread 0.01, 0.01, 0.00 (equal
  // remainders: the earlier lines first).
  auto invoice = totals(items, rules, false, tax_rounding::per_invoice);
  EXPECT_EQ(tax_lines_of(invoice, 0), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(invoice.taxes[0].amount, 2);
  EXPECT_EQ(invoice.total, 17);
}

TEST(invoice_totals, per_invoice_spreads_by_the_largest_remainder) {
  // 21 % of 0.03, 0.04, 0.02: exact 0.63, 0.84, 0.42 (sum 1.89, so 2): the
  // floors are 0, 0, 0 and the two units go to .84 and .63.
  std::vector<tax_rule> rules{rule("VAT", "21", 1)};
  auto t = totals({{3, true}, {4, true}, {2, true}}, rules, false,
                  tax_rounding::per_invoice);
  EXPECT_EQ(tax_lines_of(t, 0), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(t.taxes[0].amount, 2);
}

TEST(invoice_totals, inclusive_per_invoice_spreads_and_keeps_each_gross) {
  // Three lines of 0.05 gross at 10 %: per line the net is 0.05 (4.545...
  // rounds to 5) and there is no tax; over the invoice 0.15 holds 0.01 of
  // tax (net 13.636... is 14), which the first line carries.
  std::vector<tax_rule> rules{rule("VAT", "10", 1)};
  std::vector<invoice_item_input> items{{5, true}, {5, true}, {5, true}};
  auto line = totals(items, rules, true, tax_rounding::per_line);
  EXPECT_EQ(line.line_net, (std::vector<int64_t>{5, 5, 5}));
  EXPECT_EQ(line.taxes[0].amount, 0);
  auto invoice = totals(items, rules, true, tax_rounding::per_invoice);
  EXPECT_EQ(invoice.line_net, (std::vector<int64_t>{4, 5, 5}));
  EXPECT_EQ(tax_lines_of(invoice, 0), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(invoice.subtotal, 14);
  EXPECT_EQ(invoice.total, 15);
}

TEST(invoice_totals, untaxed_items_carry_no_tax) {
  std::vector<tax_rule> rules{rule("VAT", "21", 1)};
  for (bool inclusive : {false, true}) {
    auto t = totals({{1000, false}, {12100, true}}, rules, inclusive,
                    tax_rounding::per_invoice);
    EXPECT_EQ(t.taxes[0].lines[0], 0);
    EXPECT_EQ(t.line_net[0], 1000);
    EXPECT_EQ(t.taxes[0].amount, inclusive ? 2100 : 2541);
  }
}

TEST(invoice_totals, with_no_taxed_item_list_each_rule_at_zero) {
  std::vector<tax_rule> rules{rule("a", "10", 1), rule("b", "5", 2, true)};
  auto t = totals({{1000, false}}, rules, false, tax_rounding::per_line);
  ASSERT_EQ(t.taxes.size(), 2u);
  EXPECT_EQ(t.taxes[0].amount, 0);
  EXPECT_EQ(t.taxes[1].amount, 0);
  EXPECT_EQ(t.total, 1000);
  auto empty = totals({}, rules, true, tax_rounding::per_invoice);
  EXPECT_TRUE(empty.line_net.empty());
  EXPECT_EQ(empty.taxes.size(), 2u);
  EXPECT_EQ(empty.total, 0);
}

TEST(invoice_totals, reverse_charge_has_no_tax_even_with_inclusive_prices) {
  std::vector<tax_rule> rules{rule("VAT", "21", 1)};
  for (bool inclusive : {false, true}) {
    auto t = totals({{12100, true}, {500, false}}, rules, inclusive,
                    tax_rounding::per_line, cur("EUR"), true);
    EXPECT_TRUE(t.taxes.empty());
    EXPECT_EQ(t.line_net, (std::vector<int64_t>{12100, 500}));
    EXPECT_EQ(t.subtotal, 12600);
    EXPECT_EQ(t.total, 12600);
  }
}

TEST(invoice_totals, a_discount_line_lowers_the_taxed_base) {
  std::vector<tax_rule> rules{rule("VAT", "21", 1)};
  auto t = totals({{10000, true}, {-2000, true}}, rules, false,
                  tax_rounding::per_line);
  EXPECT_EQ(tax_lines_of(t, 0), (std::vector<int64_t>{2100, -420}));
  EXPECT_EQ(t.subtotal, 8000);
  EXPECT_EQ(t.total, 9680);
  // Half a cent of a negative line rounds away from zero, like a positive.
  t = totals({{10000, true}, {-50, true}}, {rule("VAT", "1", 1)}, false,
             tax_rounding::per_line);
  EXPECT_EQ(tax_lines_of(t, 0), (std::vector<int64_t>{100, -1}));
}

TEST(invoice_totals, a_negative_subtotal_or_total_is_refused) {
  std::vector<tax_rule> rules{rule("VAT", "21", 1)};
  auto t = compute_totals(
    std::vector<invoice_item_input>{{1000, true}, {-1500, false}}, rules, false,
    tax_rounding::per_line, false, cur("EUR"));
  ASSERT_FALSE(t);
  EXPECT_EQ(errc_of(t.error()), billow_errc::invalid_argument);
  EXPECT_EQ(detail_of(t.error()),
            "cannot add up to a negative subtotal (-5.00 EUR): an invoice's "
            "discounts must not exceed its charges");
  // Subtotal 0.10, tax -2.10: total -2.00.
  t = compute_totals(std::vector<invoice_item_input>{{-1000, true},
                                                     {1010, false}},
                     rules, false, tax_rounding::per_line, false, cur("EUR"));
  ASSERT_FALSE(t);
  EXPECT_EQ(detail_of(t.error()),
            "cannot add up to a negative total (-2.00 EUR): an invoice's "
            "discounts must not exceed its charges");
}

TEST(invoice_totals, amounts_past_int64_are_refused_not_wrapped) {
  constexpr int64_t big = std::numeric_limits<int64_t>::max();
  std::vector<tax_rule> rules{rule("VAT", "21", 1)};
  for (auto mode : {tax_rounding::per_line, tax_rounding::per_invoice})
    for (bool inclusive : {false, true}) {
      auto t = compute_totals(std::vector<invoice_item_input>{{big, true},
                                                              {big, true}},
                              rules, inclusive, mode, false, cur("JPY"));
      ASSERT_FALSE(t);
      EXPECT_EQ(errc_of(t.error()), billow_errc::invalid_argument);
    }
  // One huge line taxed exclusively overflows through its tax.
  auto t = compute_totals(std::vector<invoice_item_input>{{big, true}}, rules,
                          false, tax_rounding::per_line, false, cur("JPY"));
  EXPECT_FALSE(t);
  // Inclusive, the gross is the total: it fits.
  t = compute_totals(std::vector<invoice_item_input>{{big, true}}, rules, true,
                     tax_rounding::per_line, false, cur("JPY"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->total, big);
}

TEST(invoice_totals, rules_out_of_level_order_are_a_bug) {
  std::vector<invoice_item_input> items{{100, true}};
  for (auto rules :
       {std::vector<tax_rule>{rule("b", "1", 2), rule("a", "1", 1)},
        std::vector<tax_rule>{rule("a", "1", 1), rule("a", "1", 1)},
        std::vector<tax_rule>{rule("a", "1", 4)}}) {
    auto t = compute_totals(items, rules, false, tax_rounding::per_line, false,
                            cur("EUR"));
    ASSERT_FALSE(t);
    EXPECT_EQ(errc_of(t.error()), billow_errc::internal);
  }
  auto odd = rule("a", "1", 1);
  odd.r = rate{rate::whole + 1};
  EXPECT_FALSE(compute_totals(items, std::vector<tax_rule>{odd}, false,
                              tax_rounding::per_line, false, cur("EUR")));
}

TEST(invoice_totals, the_heaviest_rules_still_add_up) {
  // Three compound rules of 100 %: gross is 8 times the net.
  std::vector<tax_rule> rules{rule("a", "100", 1), rule("b", "100", 2, true),
                              rule("c", "100", 3, true)};
  auto t = totals({{100, true}}, rules, false, tax_rounding::per_line);
  EXPECT_EQ(t.taxes[0].amount, 100);
  EXPECT_EQ(t.taxes[1].amount, 200);
  EXPECT_EQ(t.taxes[2].amount, 400);
  EXPECT_EQ(t.total, 800);
  t = totals({{800, true}}, rules, true, tax_rounding::per_line);
  EXPECT_EQ(t.subtotal, 100);
  EXPECT_EQ(t.taxes[2].amount, 400);
  constexpr int64_t big = std::numeric_limits<int64_t>::max();
  t = totals({{big, true}}, rules, true, tax_rounding::per_invoice, cur("JPY"));
  EXPECT_EQ(t.total, big);
}

// -- properties ---------------------------------------------------------------

namespace {

/// A random invoice: its items, rules and options.
struct random_case {
  const currency* c = nullptr;
  std::vector<invoice_item_input> items;
  std::vector<tax_rule> rules;
  bool inclusive = false;
  tax_rounding mode = tax_rounding::per_line;
  bool reverse_charge = false;

  std::string describe() const {
    std::ostringstream out;
    out << c->code << (inclusive ? " inclusive" : " exclusive")
        << (mode == tax_rounding::per_line ? " per_line" : " per_invoice")
        << (reverse_charge ? " reverse_charge" : "") << "; items";
    for (const auto& item : items)
      out << " " << item.amount << (item.taxed ? "" : "(untaxed)");
    out << "; rules";
    for (const auto& r : rules)
      out << " L" << r.level << " " << format_rate(r.r)
          << (r.compound ? " compound" : "");
    return out.str();
  }
};

int64_t random_in(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>{lo, hi}(rng);
}

rate random_rate(std::mt19937_64& rng) {
  static const std::vector<int64_t> common{
    0, 50'000, 70'000, 100'000, 190'000, 210'000, 250'000, 99'750, 1'000'000};
  switch (rng() % 4) {
    case 0: return rate{common[rng() % common.size()]};
    case 1: return rate{random_in(rng, 0, 100) * rate::per_percent};
    default: return rate{random_in(rng, 0, rate::whole)};
  }
}

random_case make_case(std::mt19937_64& rng) {
  static const char* codes[] = {"JPY", "EUR", "KWD"};
  random_case rc;
  rc.c = &cur(codes[rng() % 3]);
  auto n = static_cast<size_t>(random_in(rng, 1, 8));
  int64_t positive = 0;
  for (size_t i = 0; i < n; ++i) {
    auto digits = random_in(rng, 0, 12);
    int64_t magnitude = 1;
    for (int64_t d = 0; d < digits; ++d)
      magnitude *= 10;
    auto amount = random_in(rng, 0, magnitude);
    rc.items.push_back({amount, rng() % 5 != 0});
    positive += amount;
  }
  // Discounts small enough that the invoice stays positive whatever its
  // rates (net, and gross up to 8 times the net).
  if (positive >= 100'000 && rng() % 3 == 0) {
    auto count = random_in(rng, 1, 3);
    for (int64_t i = 0; i < count; ++i)
      rc.items.push_back({-random_in(rng, 1, positive / 64), rng() % 2 == 0});
  }
  for (int level = 1; level <= max_tax_level; ++level)
    if (rng() % 3 != 0)
      rc.rules.push_back(
        tax_rule{"id" + std::to_string(level), "tax" + std::to_string(level),
                 random_rate(rng), "", level, level > 1 && rng() % 2 == 0});
  rc.inclusive = rng() % 2 == 0;
  rc.mode = rng() % 2 == 0 ? tax_rounding::per_line : tax_rounding::per_invoice;
  rc.reverse_charge = rng() % 10 == 0;
  return rc;
}

/// `n / d` rounded half-up; `d > 0`.
i128 half_up(i128 n, i128 d) {
  auto q = n / d;
  auto r = n % d;
  if (2 * (r < 0 ? -r : r) >= d)
    q += n < 0 ? -1 : 1;
  return q;
}

/// Whether `part` is within one unit of the exact value `num / den`:
/// |part * den - num| < den.
bool within_one(int64_t part, i128 num, i128 den) {
  auto diff = static_cast<i128>(part) * den - num;
  return (diff < 0 ? -diff : diff) < den;
}

/// The weights of the exact parts of a gross amount, computed differently
/// from the engine: always scaled by 10^18 (rate units to the 3), the gross
/// of one unit of net built up rule by rule.
std::vector<i128> exact_weights(const std::vector<tax_rule>& rules) {
  const i128 scale = i128{1'000'000'000'000'000'000};
  std::vector<i128> w{scale};
  for (size_t k = 0; k < rules.size(); ++k) {
    i128 base = scale;
    if (rules[k].compound)
      for (size_t j = 1; j < w.size(); ++j)
        base += w[j];
    w.push_back(base * rules[k].r.units / rate::whole);
  }
  return w;
}

} // namespace

TEST(invoice_totals_property, always_add_up_and_stay_within_a_unit_of_exact) {
  std::mt19937_64 rng{seed};
  for (int i = 0; i < cases; ++i) {
    auto rc = make_case(rng);
    SCOPED_TRACE("seed " + std::to_string(seed) + ", case " + std::to_string(i)
                 + ": " + rc.describe());
    auto result = compute_totals(rc.items, rc.rules, rc.inclusive, rc.mode,
                                 rc.reverse_charge, *rc.c);
    ASSERT_TRUE(result) << detail_of(result.error());
    const auto& t = *result;
    auto n = rc.items.size();
    // The sums.
    ASSERT_EQ(t.line_net.size(), n);
    int64_t net_sum = 0;
    for (auto x : t.line_net)
      net_sum += x;
    ASSERT_EQ(t.subtotal, net_sum);
    int64_t tax_sum = 0;
    for (const auto& tax : t.taxes) {
      ASSERT_EQ(tax.lines.size(), n);
      int64_t lines = 0;
      for (auto x : tax.lines)
        lines += x;
      ASSERT_EQ(tax.amount, lines);
      tax_sum += tax.amount;
    }
    ASSERT_EQ(t.total, t.subtotal + tax_sum);
    ASSERT_GE(t.subtotal, 0);
    ASSERT_GE(t.total, 0);
    int64_t amount_sum = 0;
    for (const auto& item : rc.items)
      amount_sum += item.amount;
    if (rc.reverse_charge) {
      ASSERT_TRUE(t.taxes.empty());
      for (size_t x = 0; x < n; ++x)
        ASSERT_EQ(t.line_net[x], rc.items[x].amount);
      ASSERT_EQ(t.total, amount_sum);
      continue;
    }
    ASSERT_EQ(t.taxes.size(), rc.rules.size());
    for (size_t k = 0; k < rc.rules.size(); ++k) {
      ASSERT_EQ(t.taxes[k].rule_id, rc.rules[k].id);
      ASSERT_EQ(t.taxes[k].r, rc.rules[k].r);
      for (size_t x = 0; x < n; ++x) {
        if (!rc.items[x].taxed) {
          ASSERT_EQ(t.taxes[k].lines[x], 0);
        }
      }
    }
    if (rc.inclusive) {
      // Each line's net and taxes add up to its gross, and each part is
      // within one unit of its exact share (per_line) or each tax over the
      // invoice is (per_invoice).
      ASSERT_EQ(t.total, amount_sum);
      auto w = exact_weights(rc.rules);
      i128 f = 0;
      for (auto x : w)
        f += x;
      i128 taxed_gross = 0;
      for (size_t x = 0; x < n; ++x) {
        i128 gross = t.line_net[x];
        for (const auto& tax : t.taxes)
          gross += tax.lines[x];
        ASSERT_EQ(gross, rc.items[x].amount);
        if (!rc.items[x].taxed) {
          ASSERT_EQ(t.line_net[x], rc.items[x].amount);
          continue;
        }
        taxed_gross += rc.items[x].amount;
        for (size_t k = 0; k < rc.rules.size(); ++k)
          ASSERT_TRUE(
            within_one(t.taxes[k].lines[x], rc.items[x].amount * w[k + 1], f))
            << "line " << x << " rule " << k;
        if (rc.mode == tax_rounding::per_line) {
          ASSERT_TRUE(within_one(t.line_net[x], rc.items[x].amount * w[0], f))
            << "line " << x;
          if (rc.rules.size() == 1) {
            ASSERT_EQ(t.taxes[0].lines[x],
                      *tax_included_in(rc.items[x].amount, rc.rules[0].r));
          }
        }
      }
      if (rc.mode == tax_rounding::per_invoice) {
        i128 taxed_net = 0;
        for (size_t x = 0; x < n; ++x)
          if (rc.items[x].taxed)
            taxed_net += t.line_net[x];
        ASSERT_TRUE(
          within_one(static_cast<int64_t>(taxed_net), taxed_gross * w[0], f));
        for (size_t k = 0; k < rc.rules.size(); ++k)
          ASSERT_TRUE(within_one(t.taxes[k].amount, taxed_gross * w[k + 1], f))
            << "rule " << k;
        if (rc.rules.size() == 1) {
          ASSERT_EQ(t.taxes[0].amount,
                    *tax_included_in(static_cast<int64_t>(taxed_gross),
                                     rc.rules[0].r));
        }
      }
      continue;
    }
    // Exclusive: the net is the amount; each tax is the rate of its base
    // (the net, plus the lower taxes of the line when compound), rounded
    // half-up per line, or over the invoice and then spread.
    for (size_t x = 0; x < n; ++x)
      ASSERT_EQ(t.line_net[x], rc.items[x].amount);
    for (size_t k = 0; k < rc.rules.size(); ++k) {
      i128 exact_sum = 0;
      for (size_t x = 0; x < n; ++x) {
        if (!rc.items[x].taxed)
          continue;
        i128 base = rc.items[x].amount;
        if (rc.rules[k].compound)
          for (size_t j = 0; j < k; ++j)
            base += t.taxes[j].lines[x];
        auto num = base * rc.rules[k].r.units;
        exact_sum += num;
        if (rc.mode == tax_rounding::per_line) {
          ASSERT_EQ(t.taxes[k].lines[x], half_up(num, rate::whole))
            << "line " << x << " rule " << k;
        } else {
          ASSERT_TRUE(within_one(t.taxes[k].lines[x], num, rate::whole))
            << "line " << x << " rule " << k;
        }
      }
      if (rc.mode == tax_rounding::per_invoice) {
        ASSERT_EQ(t.taxes[k].amount, half_up(exact_sum, rate::whole))
          << "rule " << k;
      }
    }
  }
}

TEST(invoice_totals_property, a_single_plain_rule_agrees_with_the_money_core) {
  std::mt19937_64 rng{seed + 1};
  for (int i = 0; i < cases; ++i) {
    auto rc = make_case(rng);
    rc.reverse_charge = false;
    rc.rules = {tax_rule{"id", "VAT", random_rate(rng), "", 1, false}};
    SCOPED_TRACE("seed " + std::to_string(seed + 1) + ", case "
                 + std::to_string(i) + ": " + rc.describe());
    auto t = compute_totals(rc.items, rc.rules, rc.inclusive, rc.mode, false,
                            *rc.c);
    ASSERT_TRUE(t) << detail_of(t.error());
    std::vector<int64_t> taxed;
    for (const auto& item : rc.items)
      if (item.taxed)
        taxed.push_back(item.amount);
    auto core = tax_lines(taxed, rc.rules[0].r, rc.mode, rc.inclusive);
    ASSERT_TRUE(core);
    ASSERT_EQ(t->taxes[0].amount, core->total);
    if (rc.mode == tax_rounding::per_line) {
      size_t next = 0;
      for (size_t x = 0; x < rc.items.size(); ++x)
        if (rc.items[x].taxed) {
          ASSERT_EQ(t->taxes[0].lines[x], core->lines[next++]);
        }
    }
  }
}

TEST(applicable_rules_property, one_per_level_preferring_the_country) {
  std::mt19937_64 rng{seed + 2};
  static const char* countries[] = {"", "NL", "DE", "FR"};
  for (int i = 0; i < cases / 10; ++i) {
    std::vector<tax_rule> rules;
    auto count = random_in(rng, 0, 8);
    for (int64_t j = 0; j < count; ++j)
      rules.push_back(tax_rule{std::to_string(j).insert(0, "r"), "", rate{},
                               countries[rng() % 4],
                               static_cast<int>(random_in(rng, 1, 3)), false});
    std::string client = countries[rng() % 4];
    SCOPED_TRACE("seed " + std::to_string(seed + 2) + ", case "
                 + std::to_string(i) + ", client " + client);
    auto chosen = applicable_rules(rules, client);
    int last_level = 0;
    for (const auto& r : chosen) {
      ASSERT_GT(r.level, last_level);
      last_level = r.level;
      ASSERT_TRUE(r.country.empty() || r.country == client);
    }
    for (int level = 1; level <= 3; ++level) {
      const tax_rule* exact = nullptr;
      const tax_rule* fallback = nullptr;
      for (const auto& r : rules)
        if (r.level == level) {
          if (!client.empty() && r.country == client && exact == nullptr)
            exact = &r;
          if (r.country.empty() && fallback == nullptr)
            fallback = &r;
        }
      const tax_rule* expected = exact != nullptr ? exact : fallback;
      const tax_rule* got = nullptr;
      for (const auto& r : chosen)
        if (r.level == level)
          got = &r;
      if (expected == nullptr) {
        ASSERT_EQ(got, nullptr) << "level " << level;
      } else {
        ASSERT_TRUE(got != nullptr && got->id == expected->id)
          << "level " << level;
      }
    }
  }
}
