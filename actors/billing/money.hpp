#pragma once

// Money inside Billow: an `int64_t` count of a currency's minor units (12.50
// EUR is 1250). Text is parsed and printed exactly, arithmetic is integer
// arithmetic, rounding is half-up (half away from zero) to the minor unit, and
// every split of an amount adds up to the whole.
//
// Errors are `billow_errc::invalid_argument` with a detail a person can act
// on, such as `must have exactly 2 decimals for EUR, such as "12.50"`. The
// detail never names the field: the caller (the HTTP layer) adds it.

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>
#include <caf/expected.hpp>

#include "actors/billing/currency.hpp"

namespace billow::billing {

// -- amounts ------------------------------------------------------------------

/// Parses `text`, an amount of `cur` written with exactly `cur.exponent`
/// decimals, into minor units: "12.50" EUR is 1250, "1200" JPY is 1200,
/// "-1.250" KWD is -1250.
///
/// Accepts an optional leading '-', at least one digit, and, when the exponent
/// is not 0, a '.' followed by exactly `cur.exponent` digits. Refuses '+',
/// spaces, exponent notation ("1e3"), a leading or trailing '.', too few or
/// too many decimals and anything outside the range of `int64_t`.
caf::expected<int64_t> parse_amount(std::string_view text, const currency& cur);

/// Prints `minor` minor units of `cur` with exactly `cur.exponent` decimals:
/// the inverse of `parse_amount` (-50 EUR is "-0.50", 1200 JPY is "1200",
/// 1250 KWD is "1.250").
std::string format_amount(int64_t minor, const currency& cur);

/// Reads a money field of a JSON body: a string parsed by `parse_amount`.
/// Refuses a JSON number (`must be a string such as "12.50", not a JSON
/// number`) and every other non-string value.
caf::expected<int64_t> parse_money_field(const boost::json::value& v,
                                         const currency& cur);

/// Like `parse_money_field(v, cur)` for the currency with the code
/// `currency_code`; refuses a code that is not a current ISO 4217 currency.
caf::expected<int64_t> parse_money_field(const boost::json::value& v,
                                         std::string_view currency_code);

/// The currency with the code `code`, or an error saying that the code is not
/// a current ISO 4217 currency (codes are uppercase: "EUR", not "eur").
caf::expected<const currency*> require_currency(std::string_view code);

// -- checked arithmetic -------------------------------------------------------

/// `a + b`, or an error when the sum does not fit in `int64_t`.
caf::expected<int64_t> checked_add(int64_t a, int64_t b);

/// `a - b`, or an error when the difference does not fit in `int64_t`.
caf::expected<int64_t> checked_sub(int64_t a, int64_t b);

/// The sum of `xs` (0 when empty), or an error when a partial sum does not fit
/// in `int64_t`.
caf::expected<int64_t> checked_sum(std::span<const int64_t> xs);

// -- rates --------------------------------------------------------------------

/// A percentage such as a tax rate ("21.00") or a late fee ("7.125"), held
/// exactly as a count of 1/10000 percent: "21.00" is 210000, "7.125" is 71250,
/// 100 % is 1000000.
struct rate {
  /// Units of 1/10000 percent in one percent.
  static constexpr int64_t per_percent = 10'000;
  /// Units of 1/10000 percent in 100 %, the whole amount.
  static constexpr int64_t whole = 100 * per_percent;

  /// The rate in units of 1/10000 percent.
  int64_t units = 0;

  friend constexpr auto operator<=>(const rate&, const rate&) = default;
};

/// Which rates `parse_rate` takes.
enum class rate_range {
  /// 0 to 100 % inclusive: tax rates, percentage fees.
  percentage,
  /// Any sign and size that fits (adjustments, tests).
  any,
};

/// Parses `text`, a percentage written with at most 4 decimals ("21",
/// "21.00", "7.125", "0.0001"), exactly. With `rate_range::percentage`
/// (the default) refuses a negative rate and one above 100.
caf::expected<rate> parse_rate(std::string_view text,
                               rate_range range = rate_range::percentage);

/// Reads a rate field of a JSON body: a string parsed by `parse_rate`; refuses
/// a JSON number like `parse_money_field` does.
caf::expected<rate> parse_rate_field(const boost::json::value& v,
                                     rate_range range = rate_range::percentage);

/// Prints `r` with at least 2 and at most 4 decimals, dropping trailing zeros
/// past the second: "21.00", "7.125", "0.0001", "-5.50".
std::string format_rate(rate r);

// -- rounding -----------------------------------------------------------------

/// `a * num / den` rounded half-up, that is to the nearest integer with halves
/// away from zero (Java's `ROUND_HALF_UP`): 5/2 is 3, -5/2 is -3, 7/3 is 2.
///
/// The product is exact (`__int128`). Refuses `den == 0` and a result that
/// does not fit in `int64_t`.
caf::expected<int64_t> mul_div_half_up(int64_t a, int64_t num, int64_t den);

/// The tax on a net amount: `amount * r / 100 %`, rounded half-up to the minor
/// unit (21 % of 1500 is 315). Refuses a result outside `int64_t`.
caf::expected<int64_t> percent_of(int64_t amount, rate r);

/// The tax contained in a gross (tax-inclusive) amount at rate `r`:
/// `gross - net` with `net = round_half_up(gross * 100 / (100 + r))`, so that
/// `net + tax == gross` exactly (21 % in 1210 is 210). Refuses `r` of -100 %
/// or less.
caf::expected<int64_t> tax_included_in(int64_t gross, rate r);

/// How the tax of an invoice is rounded (the billing setting `tax_rounding`).
enum class tax_rounding {
  /// Each line's tax is rounded on its own; the invoice's tax is their sum.
  per_line,
  /// The tax of the invoice's summed amount is rounded once; each line gets
  /// its share so that the lines add up to it exactly.
  per_invoice,
};

/// The tax of each line of an invoice and their total; `total` is always the
/// sum of `lines`.
struct line_taxes {
  /// The tax of each line, in the order of the amounts.
  std::vector<int64_t> lines;
  /// The invoice's tax: the sum of `lines`.
  int64_t total = 0;
};

/// Taxes the lines `amounts` (net, or gross when `amounts_include_tax`) at
/// rate `r`.
///
/// `per_line`: line i's tax is `percent_of(amounts[i], r)` (or
/// `tax_included_in`). `per_invoice`: the total is the tax of the summed
/// amounts, and line i's tax is the rounded tax of the first i+1 lines minus
/// that of the first i, so that the lines add up to the total and each is
/// within one minor unit of its exact share. Refuses sums outside `int64_t`.
caf::expected<line_taxes> tax_lines(std::span<const int64_t> amounts, rate r,
                                    tax_rounding mode,
                                    bool amounts_include_tax = false);

// -- allocation ---------------------------------------------------------------

/// Splits `total` into parts proportional to `weights` that add up to `total`
/// exactly (largest remainder): each part is its exact share rounded toward
/// zero, then the minor units left over go one each to the parts with the
/// largest fractional remainders, ties to the lower index. A negative total
/// splits like its magnitude, negated. Each part differs from its exact share
/// by less than one minor unit.
///
/// Refuses no weights, a negative weight, or weights that are all 0.
caf::expected<std::vector<int64_t>> allocate(int64_t total,
                                             std::span<const int64_t> weights);

/// Splits `total` into `n` parts as equal as possible that add up to `total`:
/// `allocate` with `n` equal weights, so the first parts carry the leftover
/// minor units (10.00 over 744 hours: 256 hours of 2 and 488 of 1). Refuses
/// `n == 0`.
caf::expected<std::vector<int64_t>> allocate_evenly(int64_t total, size_t n);

// -- answers -------------------------------------------------------------

/// Prints amounts of one currency as the API's money strings, for the
/// answers built from events (invoices, accounts, ledger entries). An
/// unknown code (never stored by Billow) prints the minor units as an
/// integer rather than guessing decimals.
class money_formatter {
public:
  explicit money_formatter(std::string_view code) : cur_(find_currency(code)) {}

  boost::json::value operator()(int64_t minor) const;

private:
  const currency* cur_;
};

} // namespace billow::billing
