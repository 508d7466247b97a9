// The billing settings (actors/billing/settings.hpp): their defaults, the
// partial update of PUT and every refusal, each naming its field; the JSON
// answer and its reading back; invoice number formats.

#include "actors/billing/settings.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

using namespace billow;
using namespace billow::billing;

namespace {

/// The seed of the property tests; change it to explore other cases.
constexpr uint64_t seed = 20260312;

const billing_settings defaults{};

/// `apply_settings_update(current, body)` for a body written as JSON text.
validated<billing_settings> put(std::string_view text,
                                const billing_settings& current = defaults) {
  return apply_settings_update(current, boost::json::parse(text).as_object());
}

/// The settings after a PUT that must pass.
billing_settings accepted(std::string_view text,
                          const billing_settings& current = defaults) {
  auto s = put(text, current);
  EXPECT_TRUE(s) << text << ": " << to_string(s.problems());
  return s ? *s : current;
}

/// "field: detail; ..." of a PUT that must fail.
std::string refused(std::string_view text,
                    const billing_settings& current = defaults) {
  auto s = put(text, current);
  EXPECT_FALSE(s) << text;
  return to_string(s.problems());
}

/// The fields of a PUT's problems, joined by ','.
std::string fields(std::string_view text) {
  std::string out;
  auto s = put(text);
  for (const auto& p : s.problems())
    out += (out.empty() ? "" : ",") + p.field;
  return out;
}

} // namespace

// -- defaults and the GET answer ----------------------------------------------

TEST(billing_settings, defaults_are_those_of_the_api_reference) {
  auto json = to_json(defaults);
  EXPECT_EQ(json, boost::json::parse(R"({
    "default_mode": "invoice",
    "invoice_days_in_advance": 14,
    "reminder_days_before_due": [3],
    "overdue_reminder_days": [1, 7],
    "suspend_after_days_overdue": 3,
    "terminate_after_days_overdue": 30,
    "late_fee": {"type": "none"},
    "apply_credit": true,
    "prices_include_tax": false,
    "tax_rounding": "per_invoice",
    "number_formats": {"invoice": "INV-{YYYY}-{NNNNNN}",
                       "proforma": "PRO-{YYYY}-{NNNNNN}",
                       "credit_note": "CN-{YYYY}-{NNNNNN}"},
    "credit_unused_on_cancel": false,
    "company": {"name": "", "address": [], "tax_id": "", "email": "",
                "logo_url": ""}
  })"));
}

TEST(billing_settings, read_back_from_json_unchanged) {
  auto s = accepted(R"({"default_mode": "prepaid",
    "invoice_days_in_advance": 7, "reminder_days_before_due": [1, 3, 7],
    "overdue_reminder_days": [], "suspend_after_days_overdue": 0,
    "terminate_after_days_overdue": 0,
    "late_fee": {"type": "fixed", "amount": {"EUR": "5.00", "JPY": "700",
                                             "KWD": "1.500"}},
    "apply_credit": false, "prices_include_tax": true,
    "tax_rounding": "per_line",
    "number_formats": {"invoice": "{YY}/{N}"},
    "credit_unused_on_cancel": true,
    "company": {"name": "Acme B.V.", "address": ["Main St 1",
      "1011 AB Amsterdam"], "tax_id": "NL123456789B01",
      "email": "billing@acme.test", "logo_url": "https://acme.test/l.png"}})");
  EXPECT_EQ(s.late_fee.fixed.at("KWD"), 1500);
  auto back = settings_from_json(to_json(s));
  ASSERT_TRUE(back) << to_string(back.problems());
  EXPECT_EQ(*back, s);
  auto percent = accepted(R"({"late_fee": {"type": "percent",
    "amount": "7.125"}})");
  EXPECT_EQ(to_json(percent).at("late_fee"),
            boost::json::parse(R"({"type": "percent", "amount": "7.125"})"));
  back = settings_from_json(to_json(percent));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, percent);
}

TEST(billing_settings, an_event_without_a_newer_key_keeps_its_default) {
  auto json = to_json(accepted(R"({"invoice_days_in_advance": 5})"));
  json.erase("company");
  json.erase("tax_rounding");
  auto back = settings_from_json(json);
  ASSERT_TRUE(back) << to_string(back.problems());
  EXPECT_EQ(back->invoice_days_in_advance, 5);
  EXPECT_EQ(back->company, defaults.company);
  EXPECT_EQ(back->tax_rounding, tax_rounding::per_invoice);
}

// -- partial updates ----------------------------------------------------------

TEST(settings_update, replaces_only_the_keys_given) {
  auto s = accepted(R"({"invoice_days_in_advance": 10})");
  EXPECT_EQ(s.invoice_days_in_advance, 10);
  auto expected = defaults;
  expected.invoice_days_in_advance = 10;
  EXPECT_EQ(s, expected);
  EXPECT_EQ(accepted("{}"), defaults);
  // A second update keeps the first.
  auto t = accepted(R"({"apply_credit": false})", s);
  EXPECT_EQ(t.invoice_days_in_advance, 10);
  EXPECT_FALSE(t.apply_credit);
}

TEST(settings_update, merges_number_formats_and_company_key_by_key) {
  auto s = accepted(R"({"number_formats": {"proforma": "P{NNNN}"},
    "company": {"name": "Acme"}})");
  EXPECT_EQ(s.number_formats.proforma, "P{NNNN}");
  EXPECT_EQ(s.number_formats.invoice, "INV-{YYYY}-{NNNNNN}");
  auto t = accepted(R"({"company": {"email": "a@b.test"}})", s);
  EXPECT_EQ(t.company.name, "Acme");
  EXPECT_EQ(t.company.email, "a@b.test");
  // "" unsets a company string.
  auto u = accepted(R"({"company": {"name": ""}})", t);
  EXPECT_EQ(u.company.name, "");
  EXPECT_EQ(u.company.email, "a@b.test");
}

TEST(settings_update, replaces_the_late_fee_whole) {
  auto s = accepted(R"({"late_fee": {"type": "fixed",
    "amount": {"EUR": "5.00"}}})");
  EXPECT_EQ(s.late_fee.type, late_fee_type::fixed);
  EXPECT_EQ(s.late_fee.fixed.size(), 1u);
  auto t = accepted(R"({"late_fee": {"type": "percent", "amount": "2"}})", s);
  EXPECT_EQ(t.late_fee.type, late_fee_type::percent);
  EXPECT_EQ(t.late_fee.percent, rate{20'000});
  EXPECT_TRUE(t.late_fee.fixed.empty());
  auto u = accepted(R"({"late_fee": {"type": "none"}})", t);
  EXPECT_EQ(u.late_fee, late_fee_rule{});
}

TEST(settings_update, a_refused_update_changes_nothing) {
  auto s = put(R"({"invoice_days_in_advance": 10, "apply_credit": 1})");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.problems().size(), 1u);
}

// -- refusals, each naming its field ------------------------------------------

TEST(settings_update, refuses_unknown_keys_at_every_depth) {
  EXPECT_EQ(refused(R"({"colour": "red"})"),
            "colour: is not a field of the billing settings");
  EXPECT_EQ(refused(R"({"company": {"fax": "1"}})"),
            "company.fax: is not a field of company");
  EXPECT_EQ(refused(R"({"number_formats": {"quote": "Q{N}"}})"),
            "number_formats.quote: is not a field of number_formats");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "none", "cap": "1.00"}})"),
            "late_fee.cap: is not a field of a late fee");
  // termination_delay_hours is a product's, not a billing setting.
  EXPECT_EQ(fields(R"({"termination_delay_hours": 48})"),
            "termination_delay_hours");
}

TEST(settings_update, refuses_day_counts_of_the_wrong_type_or_range) {
  const std::string range = "must be a whole number from 0 to 3650";
  EXPECT_EQ(refused(R"({"invoice_days_in_advance": -1})"),
            "invoice_days_in_advance: " + range);
  EXPECT_EQ(refused(R"({"invoice_days_in_advance": 3651})"),
            "invoice_days_in_advance: " + range);
  EXPECT_EQ(refused(R"({"invoice_days_in_advance": 14.0})"),
            "invoice_days_in_advance: " + range
              + ", without a fraction or an exponent");
  EXPECT_EQ(refused(R"({"invoice_days_in_advance": "14"})"),
            "invoice_days_in_advance: " + range + ", not a JSON string");
  EXPECT_EQ(refused(R"({"suspend_after_days_overdue": null})"),
            "suspend_after_days_overdue: " + range + ", not a JSON null");
  EXPECT_EQ(refused(R"({"terminate_after_days_overdue": true})"),
            "terminate_after_days_overdue: " + range + ", not a JSON boolean");
  EXPECT_EQ(
    accepted(R"({"invoice_days_in_advance": 0})").invoice_days_in_advance, 0);
  EXPECT_EQ(
    accepted(R"({"invoice_days_in_advance": 3650})").invoice_days_in_advance,
    3650);
}

TEST(settings_update, refuses_day_lists_unsorted_repeated_or_of_bad_days) {
  const std::string sorted = "must be strictly increasing, without repeats, "
                             "such as [1, 7]";
  EXPECT_EQ(refused(R"({"overdue_reminder_days": [7, 1]})"),
            "overdue_reminder_days: " + sorted);
  EXPECT_EQ(refused(R"({"overdue_reminder_days": [1, 1, 7]})"),
            "overdue_reminder_days: " + sorted);
  EXPECT_EQ(refused(R"({"reminder_days_before_due": [7, 3]})"),
            "reminder_days_before_due: " + sorted);
  EXPECT_EQ(refused(R"({"overdue_reminder_days": [1, "7", -2]})"),
            "overdue_reminder_days[1]: must be a whole number from 1 to "
            "3650, not a JSON string; overdue_reminder_days[2]: must be a "
            "whole number from 1 to 3650");
  EXPECT_EQ(refused(R"({"overdue_reminder_days": [0, 7]})"),
            "overdue_reminder_days[0]: must be a whole number from 1 to 3650");
  EXPECT_EQ(refused(R"({"overdue_reminder_days": 7})"),
            "overdue_reminder_days: must be an array of day counts such as "
            "[1, 7], not a JSON number");
  // A reminder on the due date itself, and none at all, are fine.
  EXPECT_EQ(accepted(R"({"reminder_days_before_due": [0, 3]})")
              .reminder_days_before_due,
            (std::vector<int>{0, 3}));
  EXPECT_TRUE(
    accepted(R"({"overdue_reminder_days": []})").overdue_reminder_days.empty());
}

TEST(settings_update, refuses_terminating_before_suspending) {
  EXPECT_EQ(refused(R"({"suspend_after_days_overdue": 10,
    "terminate_after_days_overdue": 5})"),
            "terminate_after_days_overdue: must not be less than "
            "suspend_after_days_overdue (10)");
  // Against the current value of the key not given.
  EXPECT_EQ(refused(R"({"suspend_after_days_overdue": 31})"),
            "suspend_after_days_overdue: must not be more than "
            "terminate_after_days_overdue (30)");
  EXPECT_EQ(refused(R"({"terminate_after_days_overdue": 2})"),
            "terminate_after_days_overdue: must not be less than "
            "suspend_after_days_overdue (3)");
  auto same = accepted(R"({"terminate_after_days_overdue": 3})");
  EXPECT_EQ(same.terminate_after_days_overdue, 3);
}

TEST(settings_update, refuses_unknown_choices_and_non_booleans) {
  EXPECT_EQ(refused(R"({"default_mode": "postpaid"})"),
            "default_mode: must be one of \"invoice\", \"prepaid\"");
  EXPECT_EQ(refused(R"({"tax_rounding": "PER_LINE"})"),
            "tax_rounding: must be one of \"per_line\", \"per_invoice\"");
  EXPECT_EQ(refused(R"({"apply_credit": "true"})"),
            "apply_credit: must be true or false, not a JSON string");
  EXPECT_EQ(fields(R"({"prices_include_tax": 0, "credit_unused_on_cancel":
    null, "default_mode": 1})"),
            "default_mode,prices_include_tax,credit_unused_on_cancel");
  EXPECT_EQ(accepted(R"({"default_mode": "prepaid"})").default_mode,
            billing_mode::prepaid);
  EXPECT_EQ(accepted(R"({"tax_rounding": "per_line"})").tax_rounding,
            tax_rounding::per_line);
}

TEST(settings_update, refuses_a_late_fee_whose_amount_does_not_fit_its_type) {
  EXPECT_EQ(refused(R"({"late_fee": "none"})"),
            "late_fee: must be an object, not a JSON string");
  EXPECT_EQ(refused(R"({"late_fee": {}})"),
            "late_fee.type: is required: \"none\", \"percent\" or \"fixed\"");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "flat"}})"),
            "late_fee.type: must be one of \"none\", \"percent\", \"fixed\"");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "none", "amount": "5.00"}})"),
            "late_fee.amount: must be left out when type is \"none\"");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "percent"}})"),
            "late_fee.amount: is required: a percentage such as \"5.00\"");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "percent", "amount": 5}})"),
            "late_fee.amount: must be a string such as \"21.00\", not a JSON "
            "number");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "percent", "amount": "0"}})"),
            "late_fee.amount: must be above 0; use type \"none\" for no late "
            "fee");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "percent", "amount": "101"}})"),
            "late_fee.amount: must be a percentage from 0 to 100, such as "
            "\"21.00\"");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "fixed"}})"),
            "late_fee.amount: is required: the fee per currency, such as "
            "{\"EUR\": \"5.00\"}");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "fixed", "amount": "5.00"}})"),
            "late_fee.amount: must be an object, not a JSON string");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "fixed", "amount": {}}})"),
            "late_fee.amount: must name at least one currency, such as "
            "{\"EUR\": \"5.00\"}");
  EXPECT_EQ(refused(R"({"late_fee": {"type": "fixed", "amount":
    {"eur": "5.00", "EUR": "5.0", "JPY": 700, "USD": "0.00",
     "KWD": "-1.000"}}})"),
            "late_fee.amount.eur: is not a current ISO 4217 currency code "
            "(uppercase, such as \"EUR\"); late_fee.amount.EUR: must have "
            "exactly 2 decimals for EUR, such as \"12.50\"; "
            "late_fee.amount.JPY: must be a string such as \"1200\", not a "
            "JSON number; late_fee.amount.USD: must be above 0; "
            "late_fee.amount.KWD: must be above 0");
}

TEST(settings_update, refuses_number_formats_without_one_sequence) {
  EXPECT_EQ(refused(R"({"number_formats": {"invoice": "INV-{YYYY}"}})"),
            "number_formats.invoice: must contain the sequence placeholder "
            "{N} or {NNNNNN} (zero-padded to 6 digits), or numbers would "
            "repeat");
  EXPECT_EQ(refused(R"({"number_formats": {"credit_note": "{N}-{NN}"}})"),
            "number_formats.credit_note: must contain only one sequence "
            "placeholder {N...}");
  const std::string use = "; use {YYYY}, {YY}, {N} or {NNNNNN} (the sequence "
                          "zero-padded to 6 digits)";
  EXPECT_EQ(refused(R"({"number_formats": {"invoice": "{YYY}-{N}"}})"),
            "number_formats.invoice: has an unknown placeholder \"{YYY}\""
              + use);
  EXPECT_EQ(refused(R"({"number_formats": {"invoice": "{n}"}})"),
            "number_formats.invoice: has an unknown placeholder \"{n}\"" + use);
  EXPECT_EQ(refused(R"({"number_formats": {"invoice": "INV-{N"}})"),
            "number_formats.invoice: has a \"{\" without its \"}\"" + use);
  EXPECT_EQ(refused(R"({"number_formats": {"invoice": "INV}-{N}"}})"),
            "number_formats.invoice: has a \"}\" without its \"{\"" + use);
  EXPECT_EQ(refused(R"({"number_formats": {"invoice": ""}})"),
            "number_formats.invoice: must not be empty");
  EXPECT_EQ(fields(R"({"number_formats": {"invoice": 1, "proforma": null}})"),
            "number_formats.invoice,number_formats.proforma");
  boost::json::object body{
    {"number_formats",
     boost::json::object{{"invoice", std::string(61, 'x') + "{N}x"}}}};
  EXPECT_EQ(to_string(apply_settings_update(defaults, body).problems()),
            "number_formats.invoice: must be at most 64 characters long");
  EXPECT_EQ(refused(R"({"number_formats": {"invoice":
    "{NNNNNNNNNNNNNNNNNNNNN}"}})"),
            "number_formats.invoice: pads the sequence to at most 20 digits");
  EXPECT_EQ(refused(R"({"number_formats": "INV-{N}"})"),
            "number_formats: must be an object, not a JSON string");
  EXPECT_EQ(accepted(R"({"number_formats": {"invoice": "{N}"}})")
              .number_formats.invoice,
            "{N}");
}

TEST(settings_update, refuses_bad_company_details) {
  EXPECT_EQ(refused(R"({"company": {"email": "billing.acme.test"}})"),
            "company.email: must be an email address such as "
            "\"billing@example.com\", or \"\" for none");
  for (auto email : {"a@b", "@acme.test", "a@@acme.test", "a b@acme.test",
                     "a@acme..test", "a@.acme.test", "a@acme.test."})
    EXPECT_EQ(
      fields(std::string{R"({"company": {"email": ")"} + email + "\"}}"),
      "company.email")
      << email;
  EXPECT_EQ(refused(R"({"company": {"logo_url": "ftp://acme.test/l.png"}})"),
            "company.logo_url: must be an http or https URL such as "
            "\"https://example.com/logo.png\", or \"\" for none");
  EXPECT_EQ(fields(R"({"company": {"logo_url": "https://"}})"),
            "company.logo_url");
  EXPECT_EQ(refused(R"({"company": {"address": "Main St 1"}})"),
            "company.address: must be an array of lines such as [\"Main St "
            "1\", \"1011 AB Amsterdam\"], not a JSON string");
  EXPECT_EQ(refused(R"({"company": {"address": ["Main St 1", 7, ""]}})"),
            "company.address[1]: must be a string, not a JSON number; "
            "company.address[2]: must not be empty");
  EXPECT_EQ(refused(R"({"company": {"address": ["a","b","c","d","e","f",
    "g","h","i","j","k"]}})"),
            "company.address: must have at most 10 lines");
  EXPECT_EQ(refused(R"({"company": {"name": "Acme\nB.V."}})"),
            "company.name: must not contain control characters (line "
            "breaks, tabs)");
  EXPECT_EQ(refused(R"({"company": "Acme"})"),
            "company: must be an object, not a JSON string");
  auto s = accepted(R"({"company": {"address": ["Straße 1",
    "東京都千代田区"]}})");
  EXPECT_EQ(s.company.address.size(), 2u);
  EXPECT_EQ(accepted(R"({"company": {"logo_url": "http://a.test/x.svg"}})")
              .company.logo_url,
            "http://a.test/x.svg");
}

TEST(settings_update, lists_every_problem_at_once) {
  EXPECT_EQ(fields(R"({"colour": 1, "invoice_days_in_advance": -1,
    "late_fee": {"type": "percent", "amount": 1},
    "number_formats": {"invoice": "X"}, "company": {"email": "x"}})"),
            "colour,invoice_days_in_advance,late_fee.amount,"
            "number_formats.invoice,company.email");
}

// -- invoice numbers ----------------------------------------------------------

TEST(format_number, fills_the_year_and_padded_sequence) {
  EXPECT_EQ(format_number("INV-{YYYY}-{NNNNNN}", 1, 2026), "INV-2026-000001");
  EXPECT_EQ(format_number("CN-{YYYY}-{NNNNNN}", 123456, 2026),
            "CN-2026-123456");
  EXPECT_EQ(format_number("{YY}/{N}", 42, 2026), "26/42");
  EXPECT_EQ(format_number("{YY}/{N}", 42, 2005), "05/42");
  EXPECT_EQ(format_number("{YYYY}", 1, 987), "0987");
  EXPECT_EQ(format_number("{N}", 0, 2026), "0");
  EXPECT_EQ(format_number("{N}", 18446744073709551615u, 2026),
            "18446744073709551615");
}

TEST(format_number, never_cuts_a_longer_sequence) {
  EXPECT_EQ(format_number("P{NNNN}", 123456, 2026), "P123456");
  EXPECT_EQ(format_number("P{NNNN}", 1000, 2026), "P1000");
  EXPECT_EQ(format_number("P{NNNN}", 999, 2026), "P0999");
}

TEST(format_number, copies_other_text_and_unknown_braces_as_is) {
  EXPECT_EQ(format_number("{X}-{N}-{YYYY}{YY}", 7, 2026), "{X}-7-202626");
  EXPECT_EQ(format_number("a{b", 7, 2026), "a{b");
  EXPECT_EQ(format_number("a}{N}", 7, 2026), "a}7");
  EXPECT_EQ(format_number("", 7, 2026), "");
}

TEST(format_number_property, padded_numbers_sort_like_their_sequences) {
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<uint64_t> pick{1, 999'999};
  for (int i = 0; i < 2'000; ++i) {
    auto a = pick(rng);
    auto b = pick(rng);
    SCOPED_TRACE("seed " + std::to_string(seed) + ", case " + std::to_string(i)
                 + ": " + std::to_string(a) + " and " + std::to_string(b));
    auto x = format_number("INV-{YYYY}-{NNNNNN}", a, 2026);
    auto y = format_number("INV-{YYYY}-{NNNNNN}", b, 2026);
    ASSERT_EQ(x.size(), 15u);
    ASSERT_EQ(a < b, x < y);
    ASSERT_EQ(a == b, x == y);
    ASSERT_EQ(std::stoull(x.substr(9)), a);
  }
}
