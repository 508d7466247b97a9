#include "actors/billing/money.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include <boost/json/value.hpp>

#include "events/errc.hpp"

namespace billow::billing {

namespace {

// `__extension__`: -Wpedantic otherwise refuses the GCC and Clang built-in.
__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

constexpr int64_t int64_max = std::numeric_limits<int64_t>::max();
constexpr int64_t int64_min = std::numeric_limits<int64_t>::min();

/// The magnitude of `int64_min`, which `int64_t` cannot hold.
constexpr u128 min_magnitude = u128{1} << 63;

caf::error refuse(std::string detail) {
  return make_error(billow_errc::invalid_argument, std::move(detail));
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), is_digit);
}

/// An amount of `cur` to show in messages, quoted: "12.50", "1200", "1.250".
std::string example(const currency& cur) {
  switch (cur.exponent) {
    case 0: return "\"1200\"";
    case 1: return "\"12.5\"";
    case 2: return "\"12.50\"";
    case 3: return "\"1.250\"";
    default: return "\"1.2500\"";
  }
}

/// The detail for a wrong number of decimals in an amount of `cur`.
std::string decimals_detail(const currency& cur) {
  if (cur.exponent == 0)
    return "must be a whole number such as " + example(cur) + " for "
      + std::string(cur.code) + " (no decimals)";
  return "must have exactly " + std::to_string(cur.exponent) + " decimal"
    + (cur.exponent == 1 ? "" : "s") + " for " + std::string(cur.code)
    + ", such as " + example(cur);
}

/// The name of the JSON type of `v` as a person writes it.
std::string_view json_kind(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "boolean";
    case boost::json::kind::array: return "array";
    case boost::json::kind::object: return "object";
    case boost::json::kind::string: return "string";
    default: return "number";
  }
}

/// Digits of `magnitude`, at least `min_digits` of them (zero-padded).
std::string digits_of(u128 magnitude, size_t min_digits) {
  std::string out;
  do {
    out.push_back(static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  while (out.size() < min_digits)
    out.push_back('0');
  std::reverse(out.begin(), out.end());
  return out;
}

u128 magnitude_of(int64_t x) {
  return x < 0 ? u128{0} - static_cast<u128>(static_cast<i128>(x))
               : static_cast<u128>(x);
}

/// Stores `magnitude` with the sign `negative` in `out`; false when it does
/// not fit in `int64_t`.
bool to_int64(u128 magnitude, bool negative, int64_t& out) {
  if (negative) {
    if (magnitude > min_magnitude)
      return false;
    out = static_cast<int64_t>(-static_cast<i128>(magnitude));
    return true;
  }
  if (magnitude > static_cast<u128>(int64_max))
    return false;
  out = static_cast<int64_t>(magnitude);
  return true;
}

/// Stores `int_digits` then `frac_digits`, read as one decimal number, in
/// `out`; false when it passes `limit`.
bool accumulate(std::string_view int_digits, std::string_view frac_digits,
                u128 limit, u128& out) {
  u128 result = 0;
  for (auto part : {int_digits, frac_digits})
    for (char c : part) {
      result = result * 10 + static_cast<u128>(c - '0');
      if (result > limit)
        return false;
    }
  out = result;
  return true;
}

/// The checks every decimal text (amount or rate) shares: not empty, no
/// spaces, no '+', no exponent notation, a digit before '.', one '.' at most,
/// only digits otherwise. Splits the text into sign, integer and fraction
/// digits; `has_dot` says whether a '.' was there.
struct decimal_parts {
  bool negative = false;
  std::string_view int_digits;
  std::string_view frac_digits;
  bool has_dot = false;
};

caf::expected<decimal_parts> split_decimal(std::string_view text,
                                           const std::string& ex) {
  if (text.empty())
    return refuse("must not be empty; write a value such as " + ex);
  if (text.find_first_of(" \t\r\n\f\v") != std::string_view::npos)
    return refuse("must not contain spaces, such as " + ex);
  if (text.front() == '+')
    return refuse("must not start with \"+\", such as " + ex);
  if (text.find_first_of("eE") != std::string_view::npos)
    return refuse("must be written in plain digits, not exponent notation, "
                  "such as "
                  + ex);
  decimal_parts result;
  auto body = text;
  if (body.front() == '-') {
    result.negative = true;
    body.remove_prefix(1);
  }
  if (body.empty())
    return refuse("must have digits after \"-\", such as \"-" + ex.substr(1));
  if (body.front() == '.')
    return refuse("must have a digit before the \".\", such as " + ex);
  auto dot = body.find('.');
  result.has_dot = dot != std::string_view::npos;
  result.int_digits = body.substr(0, dot);
  if (result.has_dot) {
    result.frac_digits = body.substr(dot + 1);
    if (result.frac_digits.find('.') != std::string_view::npos)
      return refuse("must have at most one \".\", such as " + ex);
  }
  if (!all_digits(result.int_digits) || !all_digits(result.frac_digits))
    return refuse("must contain only digits, an optional leading \"-\" and "
                  "a \".\" before the decimals, such as "
                  + ex);
  return result;
}

} // namespace

// -- amounts ------------------------------------------------------------------

caf::expected<int64_t> parse_amount(std::string_view text,
                                    const currency& cur) {
  auto parts = split_decimal(text, example(cur));
  if (!parts)
    return std::move(parts.error());
  auto exponent = static_cast<size_t>(cur.exponent);
  if (exponent == 0 ? parts->has_dot
                    : !parts->has_dot || parts->frac_digits.size() != exponent)
    return refuse(decimals_detail(cur));
  u128 limit = parts->negative ? min_magnitude : static_cast<u128>(int64_max);
  u128 magnitude = 0;
  int64_t result = 0;
  if (!accumulate(parts->int_digits, parts->frac_digits, limit, magnitude)
      || !to_int64(magnitude, parts->negative, result))
    return refuse("is too large for " + std::string(cur.code)
                  + ": amounts range from \"" + format_amount(int64_min, cur)
                  + "\" to \"" + format_amount(int64_max, cur) + "\"");
  return result;
}

std::string format_amount(int64_t minor, const currency& cur) {
  auto exponent = static_cast<size_t>(cur.exponent);
  auto digits = digits_of(magnitude_of(minor), exponent + 1);
  if (exponent > 0)
    digits.insert(digits.size() - exponent, 1, '.');
  if (minor < 0)
    digits.insert(digits.begin(), '-');
  return digits;
}

caf::expected<int64_t> parse_money_field(const boost::json::value& v,
                                         const currency& cur) {
  if (const auto* text = v.if_string())
    return parse_amount(std::string_view{text->data(), text->size()}, cur);
  return refuse("must be a string such as " + example(cur) + ", not a JSON "
                + std::string(json_kind(v)));
}

caf::expected<int64_t> parse_money_field(const boost::json::value& v,
                                         std::string_view currency_code) {
  auto cur = require_currency(currency_code);
  if (!cur)
    return std::move(cur.error());
  return parse_money_field(v, **cur);
}

caf::expected<const currency*> require_currency(std::string_view code) {
  if (const auto* cur = find_currency(code))
    return cur;
  return refuse("cannot be in currency \"" + std::string(code)
                + "\": not a current ISO 4217 code (uppercase, such as "
                  "\"EUR\")");
}

// -- checked arithmetic -------------------------------------------------------

caf::expected<int64_t> checked_add(int64_t a, int64_t b) {
  int64_t result = 0;
  if (__builtin_add_overflow(a, b, &result))
    return refuse("is out of range: the sum of " + std::to_string(a) + " and "
                  + std::to_string(b) + " minor units overflows");
  return result;
}

caf::expected<int64_t> checked_sub(int64_t a, int64_t b) {
  int64_t result = 0;
  if (__builtin_sub_overflow(a, b, &result))
    return refuse("is out of range: " + std::to_string(a) + " minus "
                  + std::to_string(b) + " minor units overflows");
  return result;
}

caf::expected<int64_t> checked_sum(std::span<const int64_t> xs) {
  int64_t result = 0;
  for (auto x : xs) {
    auto next = checked_add(result, x);
    if (!next)
      return next;
    result = *next;
  }
  return result;
}

// -- rates --------------------------------------------------------------------

caf::expected<rate> parse_rate(std::string_view text, rate_range range) {
  static const std::string ex = "\"21.00\"";
  auto parts = split_decimal(text, ex);
  if (!parts)
    return std::move(parts.error());
  if (parts->has_dot && parts->frac_digits.empty())
    return refuse("must have a digit after the \".\", such as " + ex);
  if (parts->frac_digits.size() > 4)
    return refuse("must have at most 4 decimals, such as \"7.125\"");
  if (range == rate_range::percentage && parts->negative)
    return refuse("must be a percentage from 0 to 100, such as " + ex
                  + ", not negative");
  std::string frac{parts->frac_digits};
  frac.resize(4, '0');
  u128 limit = parts->negative ? min_magnitude : static_cast<u128>(int64_max);
  u128 magnitude = 0;
  int64_t units = 0;
  if (!accumulate(parts->int_digits, frac, limit, magnitude)
      || !to_int64(magnitude, parts->negative, units))
    return refuse("is too large for a percentage");
  if (range == rate_range::percentage && units > rate::whole)
    return refuse("must be a percentage from 0 to 100, such as " + ex);
  return rate{units};
}

caf::expected<rate> parse_rate_field(const boost::json::value& v,
                                     rate_range range) {
  if (const auto* text = v.if_string())
    return parse_rate(std::string_view{text->data(), text->size()}, range);
  return refuse("must be a string such as \"21.00\", not a JSON "
                + std::string(json_kind(v)));
}

std::string format_rate(rate r) {
  auto digits = digits_of(magnitude_of(r.units), 5);
  digits.insert(digits.size() - 4, 1, '.');
  while (digits.back() == '0' && digits.size() - digits.find('.') > 3)
    digits.pop_back();
  if (r.units < 0)
    digits.insert(digits.begin(), '-');
  return digits;
}

// -- rounding -----------------------------------------------------------------

caf::expected<int64_t> mul_div_half_up(int64_t a, int64_t num, int64_t den) {
  if (den == 0)
    return make_error(billow_errc::internal,
                      "mul_div_half_up: the denominator is 0");
  i128 n = static_cast<i128>(a) * num;
  i128 d = den;
  if (d < 0) {
    n = -n;
    d = -d;
  }
  i128 q = n / d;
  i128 r = n % d;
  if (2 * (r < 0 ? -r : r) >= d)
    q += n < 0 ? -1 : 1;
  if (q < int64_min || q > int64_max)
    return refuse("is out of range: " + std::to_string(a) + " * "
                  + std::to_string(num) + " / " + std::to_string(den)
                  + " overflows");
  return static_cast<int64_t>(q);
}

caf::expected<int64_t> percent_of(int64_t amount, rate r) {
  return mul_div_half_up(amount, r.units, rate::whole);
}

caf::expected<int64_t> tax_included_in(int64_t gross, rate r) {
  if (r.units <= -rate::whole)
    return refuse("must be a rate above -100, not " + format_rate(r));
  auto net = mul_div_half_up(gross, rate::whole, rate::whole + r.units);
  if (!net)
    return net;
  return checked_sub(gross, *net);
}

caf::expected<line_taxes> tax_lines(std::span<const int64_t> amounts, rate r,
                                    tax_rounding mode,
                                    bool amounts_include_tax) {
  auto tax_of = [&](int64_t x) {
    return amounts_include_tax ? tax_included_in(x, r) : percent_of(x, r);
  };
  line_taxes result;
  result.lines.reserve(amounts.size());
  if (mode == tax_rounding::per_line) {
    for (auto x : amounts) {
      auto tax = tax_of(x);
      if (!tax)
        return std::move(tax.error());
      result.lines.push_back(*tax);
    }
    auto total = checked_sum(result.lines);
    if (!total)
      return std::move(total.error());
    result.total = *total;
    return result;
  }
  // per_invoice: line i carries tax(prefix i+1) - tax(prefix i), so the lines
  // telescope to tax(sum of all).
  int64_t prefix = 0;
  int64_t prefix_tax = 0;
  for (auto x : amounts) {
    auto next = checked_add(prefix, x);
    if (!next)
      return std::move(next.error());
    prefix = *next;
    auto next_tax = tax_of(prefix);
    if (!next_tax)
      return std::move(next_tax.error());
    auto line = checked_sub(*next_tax, prefix_tax);
    if (!line)
      return std::move(line.error());
    result.lines.push_back(*line);
    prefix_tax = *next_tax;
  }
  result.total = prefix_tax;
  return result;
}

// -- allocation ---------------------------------------------------------------

caf::expected<std::vector<int64_t>> allocate(int64_t total,
                                             std::span<const int64_t> weights) {
  if (weights.empty())
    return refuse("cannot be split over no parts");
  u128 weight_sum = 0;
  for (auto w : weights) {
    if (w < 0)
      return refuse("cannot be split by a negative weight (" + std::to_string(w)
                    + ")");
    weight_sum += static_cast<u128>(w);
  }
  if (weight_sum == 0)
    return refuse("cannot be split by weights that are all 0");
  // Split the magnitude, then give the parts the sign of the total.
  auto magnitude = magnitude_of(total);
  std::vector<u128> parts(weights.size());
  std::vector<u128> remainders(weights.size());
  u128 assigned = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    auto share = magnitude * static_cast<u128>(weights[i]);
    parts[i] = share / weight_sum;
    remainders[i] = share % weight_sum;
    assigned += parts[i];
  }
  // Fewer minor units are left than there are parts with a remainder.
  auto left = static_cast<size_t>(magnitude - assigned);
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return remainders[x] > remainders[y];
  });
  for (size_t k = 0; k < left; ++k)
    ++parts[order[k]];
  std::vector<int64_t> result(weights.size());
  for (size_t i = 0; i < weights.size(); ++i)
    to_int64(parts[i], total < 0, result[i]);
  return result;
}

caf::expected<std::vector<int64_t>> allocate_evenly(int64_t total, size_t n) {
  if (n == 0)
    return refuse("cannot be split over no parts");
  auto magnitude = magnitude_of(total);
  auto base = magnitude / n;
  auto left = static_cast<size_t>(magnitude % n);
  std::vector<int64_t> result(n);
  for (size_t i = 0; i < n; ++i)
    to_int64(base + (i < left ? 1 : 0), total < 0, result[i]);
  return result;
}

boost::json::value money_formatter::operator()(int64_t minor) const {
  if (cur_ == nullptr)
    return boost::json::value(minor);
  return boost::json::value(format_amount(minor, *cur_));
}

} // namespace billow::billing
