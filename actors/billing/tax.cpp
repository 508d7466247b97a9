#include "actors/billing/tax.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "events/errc.hpp"

namespace billow::billing {

namespace {

// `__extension__`: -Wpedantic otherwise refuses the GCC and Clang built-in.
__extension__ typedef __int128 i128;

constexpr i128 int64_max = std::numeric_limits<int64_t>::max();
constexpr i128 int64_min = std::numeric_limits<int64_t>::min();

/// The denominator of a rate: `rate::whole` units are 100 %.
constexpr i128 rate_den = rate::whole;

/// The longest tax name, in characters.
constexpr size_t max_name_chars = 100;

/// The longest rule id, in characters (ids are UUIDs).
constexpr size_t max_id_chars = 100;

caf::error refuse(std::string detail) {
  return make_error(billow_errc::invalid_argument, std::move(detail));
}

caf::error overflow() {
  return refuse("is out of range: the invoice's amounts do not fit in 64 "
                "bits of minor units");
}

bool fits(i128 x) {
  return x >= int64_min && x <= int64_max;
}

/// `n / d` rounded toward minus infinity; `d > 0`.
i128 floor_div(i128 n, i128 d) {
  auto q = n / d;
  if (n % d != 0 && n < 0)
    --q;
  return q;
}

/// `n / d` rounded half-up (halves away from zero); `d > 0`.
i128 div_half_up(i128 n, i128 d) {
  auto q = n / d;
  auto r = n % d;
  if (2 * (r < 0 ? -r : r) >= d)
    q += n < 0 ? -1 : 1;
  return q;
}

/// Splits `total` over parts whose exact values are `nums[i] / den` and whose
/// exact sum `total` is within one unit of per part: each part is its exact
/// value rounded down, and the units left over go one each to the parts with
/// the largest fractions, ties to the earlier part. `den > 0`.
caf::expected<std::vector<int64_t>>
spread(int64_t total, std::span<const i128> nums, i128 den) {
  std::vector<i128> parts(nums.size());
  std::vector<i128> fractions(nums.size());
  i128 assigned = 0;
  for (size_t i = 0; i < nums.size(); ++i) {
    parts[i] = floor_div(nums[i], den);
    fractions[i] = nums[i] - parts[i] * den;
    assigned += parts[i];
  }
  auto left = static_cast<i128>(total) - assigned;
  if (left < 0 || left > static_cast<i128>(nums.size()))
    return make_error(billow_errc::internal,
                      "tax spread: the rounded total is not within one unit "
                      "per line of the exact total");
  std::vector<size_t> order(nums.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return fractions[x] > fractions[y];
  });
  for (size_t k = 0; k < static_cast<size_t>(left); ++k)
    ++parts[order[k]];
  std::vector<int64_t> result(nums.size());
  for (size_t i = 0; i < nums.size(); ++i) {
    if (!fits(parts[i]))
      return overflow();
    result[i] = static_cast<int64_t>(parts[i]);
  }
  return result;
}

bool is_country_code(std::string_view s) {
  return s.size() == 2 && std::all_of(s.begin(), s.end(), [](char c) {
           return c >= 'A' && c <= 'Z';
         });
}

/// `parse_tax_rule` (`stored` false) and `tax_rule_from_json` (true).
validated<tax_rule> read_rule(const boost::json::object& obj, bool stored) {
  std::vector<field_problem> problems;
  field_reader f{obj, problems};
  if (stored)
    f.only({"id", "name", "rate", "country", "level", "compound"},
           "a tax rule");
  else
    f.only({"name", "rate", "country", "level", "compound"}, "a tax rule");
  tax_rule rule;
  auto required = [&](std::string_view name) {
    const auto* v = f.find(name);
    if (v == nullptr)
      f.fail(name, "is required");
    return v;
  };
  if (stored)
    if (const auto* v = required("id"))
      if (auto id = f.take("id", read_string(*v, max_id_chars, false)))
        rule.id = std::move(*id);
  if (const auto* v = required("name"))
    if (auto name = f.take("name", read_string(*v, max_name_chars, false)))
      rule.name = std::move(*name);
  if (const auto* v = required("rate"))
    if (auto r = f.take("rate", parse_rate_field(*v)))
      rule.r = *r;
  if (const auto* v = f.find("country");
      v != nullptr && !(stored && v->is_null())) {
    const auto* s = v->if_string();
    if (s != nullptr && is_country_code(std::string_view{s->data(), s->size()}))
      rule.country = std::string{s->data(), s->size()};
    else
      f.fail("country",
             "must be an ISO 3166-1 alpha-2 code, two uppercase letters "
             "such as \"NL\"; leave it out for every country");
  }
  std::optional<int64_t> level;
  if (const auto* v = required("level")) {
    level = f.take("level", read_integer(*v, 1, max_tax_level));
    if (level)
      rule.level = static_cast<int>(*level);
  }
  if (const auto* v = f.find("compound"))
    if (auto compound = f.take("compound", read_bool(*v))) {
      rule.compound = *compound;
      if (*compound && level == 1)
        f.fail("compound",
               "cannot be true on level 1: there is no lower level to "
               "compound on");
    }
  if (!problems.empty())
    return problems;
  return rule;
}

/// Refuses rules that `applicable_rules` would not answer: levels not
/// strictly increasing from 1 to 3, rates outside 0 to 100 %.
caf::error check_rules(std::span<const tax_rule> rules) {
  int last_level = 0;
  for (const auto& rule : rules) {
    if (rule.level <= last_level || rule.level > max_tax_level)
      return make_error(billow_errc::internal,
                        "compute_totals: the tax rules must have distinct "
                        "levels from 1 to 3, in level order");
    if (rule.r.units < 0 || rule.r.units > rate::whole)
      return make_error(billow_errc::internal,
                        "compute_totals: a tax rate must be from 0 to 100 %");
    last_level = rule.level;
  }
  return caf::error{};
}

/// The taxes of items with exclusive prices: `taxes[k][i]` is rule k's tax on
/// item i.
caf::error tax_exclusive(std::span<const invoice_item_input> items,
                         std::span<const tax_rule> rules, tax_rounding mode,
                         std::vector<std::vector<int64_t>>& taxes) {
  auto n = items.size();
  for (size_t k = 0; k < rules.size(); ++k) {
    // nums[i] / rate_den is item i's exact tax at rule k.
    std::vector<i128> nums(n, 0);
    for (size_t i = 0; i < n; ++i) {
      if (!items[i].taxed)
        continue;
      i128 base = items[i].amount;
      if (rules[k].compound)
        for (size_t j = 0; j < k; ++j)
          base += taxes[j][i];
      nums[i] = base * rules[k].r.units;
    }
    if (mode == tax_rounding::per_line) {
      for (size_t i = 0; i < n; ++i) {
        auto tax = div_half_up(nums[i], rate_den);
        if (!fits(tax))
          return overflow();
        taxes[k][i] = static_cast<int64_t>(tax);
      }
      continue;
    }
    auto exact_sum = std::accumulate(nums.begin(), nums.end(), i128{0});
    auto total = div_half_up(exact_sum, rate_den);
    if (!fits(total))
      return overflow();
    auto lines = spread(static_cast<int64_t>(total), nums, rate_den);
    if (!lines)
      return std::move(lines.error());
    taxes[k] = std::move(*lines);
  }
  return caf::error{};
}

/// The weights that split a gross amount into its net (`weights[0]`) and the
/// tax of each rule (`weights[k + 1]`): the exact parts of a gross `G` are
/// `G * weights[x] / sum(weights)`, and `sum(weights)` is F (tax.hpp) scaled
/// by rate_den to the m for m rules, so that every weight is an integer. F is
/// at most 8 (three compound rules of 100 %), so the sum is at most 8 * 10^18
/// and fits in `int64_t`.
std::vector<int64_t> inclusive_weights(std::span<const tax_rule> rules) {
  i128 scale = 1;
  for (size_t k = 0; k < rules.size(); ++k)
    scale *= rate_den;
  std::vector<i128> w{scale};
  for (size_t k = 0; k < rules.size(); ++k) {
    // a = scale * A_k, the scaled gross of one unit of net before this rule.
    i128 a = scale;
    if (rules[k].compound)
      for (size_t j = 0; j < k; ++j)
        a += w[j + 1];
    // Exact: tax j's weight is a multiple of rate_den to the m - j - 1, so
    // before the last rule `a` is still a multiple of rate_den.
    w.push_back(a * rules[k].r.units / rate_den);
  }
  return std::vector<int64_t>(w.begin(), w.end());
}

/// The taxes of items with inclusive prices; see `tax_exclusive`.
caf::error tax_inclusive(std::span<const invoice_item_input> items,
                         std::span<const tax_rule> rules, tax_rounding mode,
                         std::vector<std::vector<int64_t>>& taxes) {
  auto n = items.size();
  auto weights = inclusive_weights(rules);
  if (mode == tax_rounding::per_line) {
    for (size_t i = 0; i < n; ++i) {
      if (!items[i].taxed)
        continue;
      auto parts = allocate(items[i].amount, weights);
      if (!parts)
        return std::move(parts.error());
      for (size_t k = 0; k < rules.size(); ++k)
        taxes[k][i] = (*parts)[k + 1];
    }
    return caf::error{};
  }
  int64_t taxed_gross = 0;
  for (const auto& item : items)
    if (item.taxed
        && __builtin_add_overflow(taxed_gross, item.amount, &taxed_gross))
      return overflow();
  auto parts = allocate(taxed_gross, weights);
  if (!parts)
    return std::move(parts.error());
  i128 weight_sum = std::accumulate(weights.begin(), weights.end(), i128{0});
  for (size_t k = 0; k < rules.size(); ++k) {
    // nums[i] / weight_sum is item i's exact share of tax k.
    std::vector<i128> nums(n, 0);
    for (size_t i = 0; i < n; ++i)
      if (items[i].taxed)
        nums[i] = static_cast<i128>(items[i].amount) * weights[k + 1];
    auto lines = spread((*parts)[k + 1], nums, weight_sum);
    if (!lines)
      return std::move(lines.error());
    taxes[k] = std::move(*lines);
  }
  return caf::error{};
}

} // namespace

// -- tax rules ----------------------------------------------------------------

validated<tax_rule> parse_tax_rule(const boost::json::object& body) {
  return read_rule(body, false);
}

boost::json::object to_json(const tax_rule& rule) {
  boost::json::object out;
  out["id"] = rule.id;
  out["name"] = rule.name;
  out["rate"] = format_rate(rule.r);
  if (rule.country.empty())
    out["country"] = nullptr;
  else
    out["country"] = rule.country;
  out["level"] = rule.level;
  out["compound"] = rule.compound;
  return out;
}

validated<tax_rule> tax_rule_from_json(const boost::json::object& obj) {
  return read_rule(obj, true);
}

std::vector<tax_rule> applicable_rules(std::span<const tax_rule> rules,
                                       std::string_view country) {
  std::vector<tax_rule> result;
  for (int level = 1; level <= max_tax_level; ++level) {
    const tax_rule* fallback = nullptr;
    const tax_rule* exact = nullptr;
    for (const auto& rule : rules) {
      if (rule.level != level)
        continue;
      if (rule.country.empty()) {
        if (fallback == nullptr)
          fallback = &rule;
      } else if (!country.empty() && rule.country == country) {
        if (exact == nullptr)
          exact = &rule;
      }
    }
    if (exact != nullptr)
      result.push_back(*exact);
    else if (fallback != nullptr)
      result.push_back(*fallback);
  }
  return result;
}

// -- invoice totals -----------------------------------------------------------

caf::expected<invoice_totals>
compute_totals(std::span<const invoice_item_input> items,
               std::span<const tax_rule> rules, bool prices_include_tax,
               tax_rounding rounding, bool reverse_charge,
               const currency& cur) {
  if (auto err = check_rules(rules))
    return err;
  if (reverse_charge)
    rules = {};
  auto n = items.size();
  std::vector<std::vector<int64_t>> taxes(rules.size(),
                                          std::vector<int64_t>(n, 0));
  auto err = prices_include_tax ? tax_inclusive(items, rules, rounding, taxes)
                                : tax_exclusive(items, rules, rounding, taxes);
  if (err)
    return err;
  invoice_totals result;
  result.line_net.reserve(n);
  i128 subtotal = 0;
  for (size_t i = 0; i < n; ++i) {
    // Exclusive prices: the amount. Inclusive: the gross less the taxes.
    i128 net = items[i].amount;
    if (prices_include_tax)
      for (const auto& line : taxes)
        net -= line[i];
    if (!fits(net))
      return overflow();
    result.line_net.push_back(static_cast<int64_t>(net));
    subtotal += net;
  }
  i128 total = subtotal;
  for (size_t k = 0; k < rules.size(); ++k) {
    auto amount = std::accumulate(taxes[k].begin(), taxes[k].end(), i128{0});
    if (!fits(amount))
      return overflow();
    total += amount;
    result.taxes.push_back(tax_amount{rules[k].id, rules[k].name, rules[k].r,
                                      static_cast<int64_t>(amount),
                                      std::move(taxes[k])});
  }
  if (!fits(subtotal) || !fits(total))
    return overflow();
  result.subtotal = static_cast<int64_t>(subtotal);
  result.total = static_cast<int64_t>(total);
  if (result.subtotal < 0)
    return refuse("cannot add up to a negative subtotal ("
                  + format_amount(result.subtotal, cur) + " "
                  + std::string{cur.code}
                  + "): an invoice's discounts must not exceed its charges");
  if (result.total < 0)
    return refuse("cannot add up to a negative total ("
                  + format_amount(result.total, cur) + " "
                  + std::string{cur.code}
                  + "): an invoice's discounts must not exceed its charges");
  return result;
}

} // namespace billow::billing
