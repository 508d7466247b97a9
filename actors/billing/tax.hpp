#pragma once

// The invoice tax engine: tax rules as the API takes them, the rules that
// apply to a client, and the totals of an invoice (net, taxes, gross) from
// its items. Pure functions on integer minor units (money.hpp); nothing here
// talks to an actor or stores anything.
//
// How an invoice is taxed (api.md, "Admin: billing", "The invoice"):
//
// - A client gets at most one rule per level (1, 2, 3): the rule for its
//   country if there is one, else the rule without a country.
// - A rule taxes the net amount of each taxed item; a `compound` rule taxes
//   the net amount plus the taxes of the lower levels (10 % then 5 %
//   compound on 100.00 is 10.00 and 5.50).
// - With `prices_include_tax` an item's amount is its gross: the net and the
//   taxes are taken out of it so that they add up to it exactly.
// - `tax_rounding` `per_line` rounds each line's tax on its own;
//   `per_invoice` rounds each rule's tax once over the invoice and gives
//   each line its share so that the lines add up to it.
// - Reverse charge (a tax-exempt client with a tax id): no tax at all.
//
// Always: `subtotal == sum(line_net)`, `total == subtotal + sum(taxes)`, and
// with `prices_include_tax` also `total == sum(item amounts)`.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>
#include <caf/expected.hpp>

#include "actors/billing/currency.hpp"
#include "actors/billing/fields.hpp"
#include "actors/billing/money.hpp"

namespace billow::billing {

// -- tax rules ----------------------------------------------------------------

/// The highest tax level; levels are 1 to `max_tax_level`.
inline constexpr int max_tax_level = 3;

/// A tax rule (`/api/v1/admin/tax-rules`): a rate that applies to the
/// clients of one country, or of every country, at one of three levels.
struct tax_rule {
  /// The rule's id, given by whoever stores the rule; empty in a rule just
  /// parsed from a request body.
  std::string id;
  /// The tax's name as printed on the invoice, e.g. "VAT".
  std::string name;
  /// The rate, 0 to 100 %.
  rate r;
  /// The ISO 3166-1 alpha-2 code of the clients' country ("NL"); empty for
  /// every country.
  std::string country;
  /// 1, 2 or 3: the order in which rules are applied, and what a compound
  /// rule compounds on.
  int level = 1;
  /// Whether the rule taxes the net amount plus the taxes of the lower levels
  /// (never for level 1).
  bool compound = false;

  friend bool operator==(const tax_rule&, const tax_rule&) = default;
};

/// Checks the body of `POST /api/v1/admin/tax-rules`:
///
///     {"name": "VAT", "rate": "21.00", "country": "NL", "level": 1,
///      "compound": false}
///
/// `name` a non-empty string of at most 100 characters; `rate` a string
/// percentage from 0 to 100 with at most 4 decimals (`parse_rate_field`: a
/// JSON number is refused); `country` (optional; left out: every country)
/// two uppercase letters; `level` 1, 2 or 3; `compound` (optional, false) a
/// boolean, and not true on level 1. Any other field is refused. Answers the
/// rule with an empty `id`, or every problem, each naming its field.
validated<tax_rule> parse_tax_rule(const boost::json::object& body);

/// The rule as stored in an event and answered by the API:
/// `{"id", "name", "rate": "21.00", "country": "NL" | null, "level",
/// "compound"}`.
boost::json::object to_json(const tax_rule& rule);

/// Reads back what `to_json` wrote (the checks of `parse_tax_rule`, plus a
/// non-empty `id`; a `country` of null or left out is every country).
validated<tax_rule> tax_rule_from_json(const boost::json::object& obj);

/// The rules for a client of `country` (ISO 3166-1 alpha-2; empty when it is
/// not known): for each level, the rule of exactly that country if there is
/// one, else the rule without a country; at most one per level, in level
/// order. When `rules` holds two candidates for one place (which the rules'
/// owner prevents), the first wins.
std::vector<tax_rule> applicable_rules(std::span<const tax_rule> rules,
                                       std::string_view country);

// -- invoice totals -----------------------------------------------------------

/// One item of an invoice as the tax engine sees it.
struct invoice_item_input {
  /// The item's amount in minor units: net, or gross with
  /// `prices_include_tax`. May be negative (a discount line of a manual
  /// invoice) as long as the invoice's subtotal and total are not.
  int64_t amount = 0;
  /// Whether the invoice's tax rules tax this item.
  bool taxed = true;
};

/// One tax of an invoice: what one applied rule adds.
struct tax_amount {
  /// The rule's id and name, copied from the rule.
  std::string rule_id;
  std::string name;
  /// The rule's rate.
  rate r;
  /// The tax, in minor units: the sum of `lines`.
  int64_t amount = 0;
  /// The tax of each item, in the order of the items (0 for untaxed items).
  std::vector<int64_t> lines;

  friend bool operator==(const tax_amount&, const tax_amount&) = default;
};

/// The totals of an invoice, in minor units.
struct invoice_totals {
  /// The net amount of each item, in the order of the items.
  std::vector<int64_t> line_net;
  /// The invoice's net amount: the sum of `line_net`.
  int64_t subtotal = 0;
  /// One entry per applied rule, in level order (also when no item is taxed,
  /// with an amount of 0); empty with reverse charge.
  std::vector<tax_amount> taxes;
  /// The invoice's gross amount: `subtotal` plus every tax.
  int64_t total = 0;

  friend bool operator==(const invoice_totals&, const invoice_totals&)
    = default;
};

/// Computes the net amounts, taxes and total of an invoice whose items are
/// `items`, taxed by `rules` (the result of `applicable_rules`: at most one
/// per level, in level order, rates from 0 to 100 %).
///
/// Exclusive prices (`prices_include_tax` false): an item's net is its
/// amount; a rule's tax on a taxed item is `rate * base`, where the base is
/// the net, or for a compound rule the net plus the item's taxes of the lower
/// levels. `per_line` rounds each item's tax half-up; `per_invoice` rounds
/// the rule's tax over the sum of the bases half-up once, then splits it over
/// the items by largest remainder of their exact taxes (each item's exact tax
/// rounded down, the units left over one each to the largest fractions, ties
/// to the earlier item), so each item is within one minor unit of its exact
/// tax.
///
/// Inclusive prices: a taxed item's amount is its gross `G`, and with the
/// applied rules the exact net is `G / F`, where `F = 1 + sum of rate_k *
/// A_k`, `A_k = 1` for a plain rule and `1 + sum of rate_j * A_j` over the
/// lower levels j for a compound one (the gross of one unit of net). The
/// exact parts (net `G / F`, tax k `G * rate_k * A_k / F`) add up to `G`;
/// they are rounded by largest remainder, net first on ties, so they still
/// add up to `G` exactly. With one rule that is `tax_included_in`: the net
/// rounded half-up, the tax the rest. `per_line` splits each item's gross
/// that way; `per_invoice` splits the sum of the taxed items' gross once,
/// then spreads each tax over the items by largest remainder of their exact
/// shares, and each item's net is its gross less its taxes.
///
/// `reverse_charge`: no taxes (`taxes` is empty) and every net is the item's
/// amount, also with `prices_include_tax`.
///
/// Refuses (`invalid_argument`) a negative subtotal or total, and sums
/// outside `int64_t`; `rules` that are not in level order or have a rate
/// outside 0 to 100 % are a bug (`internal`). `cur` is the invoice's
/// currency, for the refusals' details.
caf::expected<invoice_totals>
compute_totals(std::span<const invoice_item_input> items,
               std::span<const tax_rule> rules, bool prices_include_tax,
               tax_rounding rounding, bool reverse_charge, const currency& cur);

} // namespace billow::billing
