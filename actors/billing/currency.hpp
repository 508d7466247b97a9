#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace billow::billing {

/// An ISO 4217 currency: its three-letter code and how many decimal digits
/// its minor unit has (JPY 0, EUR 2, KWD 3, CLF 4).
///
/// Amounts in this currency are counted in minor units: 12.50 EUR is 1250,
/// 1200 JPY is 1200, 1.250 KWD is 1250.
struct currency {
  /// The uppercase ISO 4217 alphabetic code, e.g. "EUR".
  std::string_view code;
  /// The number of decimals of the minor unit, 0 to 4.
  int exponent;
};

/// The currency with the uppercase ISO 4217 code `code`, or `nullptr` when the
/// code is not a current ISO 4217 currency (no case folding: "eur" is not
/// found).
const currency* find_currency(std::string_view code);

/// Every currency Billow knows, sorted by code: the current codes of ISO 4217
/// list one that have a minor unit (not the funds, precious metals and test
/// codes such as XAU, XDR or XXX, whose minor unit is "N.A.").
std::span<const currency> all_currencies();

/// The number of minor units in one major unit: 10 to the `c.exponent`.
int64_t minor_per_major(const currency& c);

} // namespace billow::billing
