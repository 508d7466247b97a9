#include "actors/billing/settings.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <optional>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "actors/billing/currency.hpp"
#include "events/errc.hpp"

namespace billow::billing {

namespace json = boost::json;

namespace {

/// The longest number format, in characters.
constexpr size_t max_format_chars = 64;

/// The most Ns of a sequence placeholder: the digits of the largest
/// `uint64_t`.
constexpr size_t max_sequence_digits = 20;

constexpr size_t max_company_chars = 200;
constexpr size_t max_address_lines = 10;
constexpr size_t max_tax_id_chars = 50;
constexpr size_t max_email_chars = 254;
constexpr size_t max_url_chars = 2048;

constexpr std::array<std::string_view, 2> mode_names = {"invoice", "prepaid"};
constexpr std::array<std::string_view, 3> late_fee_names = {"none", "percent",
                                                            "fixed"};
constexpr std::array<std::string_view, 2> rounding_names = {"per_line",
                                                            "per_invoice"};

std::string_view to_string(tax_rounding x) {
  return rounding_names[static_cast<size_t>(x)];
}

/// "must be one of \"a\", \"b\"" for a string that is not in `names`.
template <size_t N>
std::optional<size_t>
read_choice(field_reader& f, std::string_view name, const json::value& v,
            const std::array<std::string_view, N>& names) {
  if (const auto* s = v.if_string()) {
    auto it = std::find(names.begin(), names.end(),
                        std::string_view{s->data(), s->size()});
    if (it != names.end())
      return static_cast<size_t>(it - names.begin());
  }
  std::string list;
  for (auto n : names)
    list += (list.empty() ? "\"" : ", \"") + std::string{n} + "\"";
  f.fail(name, "must be one of " + list);
  return std::nullopt;
}

/// The object `v`, or a problem under `name`.
const json::object* read_object(field_reader& f, std::string_view name,
                                const json::value& v) {
  if (const auto* obj = v.if_object())
    return obj;
  f.fail(name,
         "must be an object, not a JSON " + std::string(json_kind_name(v)));
  return nullptr;
}

/// The number of the sequence placeholder `{N...}` in `content` (what is
/// between the braces), or 0 when it is not one.
size_t sequence_digits(std::string_view content) {
  if (content.empty()
      || !std::all_of(content.begin(), content.end(), [](char c) {
           return c == 'N';
         }))
    return 0;
  return content.size();
}

/// What is wrong with the number format `format`, or nothing.
std::optional<std::string> number_format_problem(std::string_view format) {
  static const std::string use
    = "use {YYYY}, {YY}, {N} or {NNNNNN} (the sequence zero-padded to 6 "
      "digits)";
  size_t sequences = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '}')
      return "has a \"}\" without its \"{\"; " + use;
    if (format[i] != '{')
      continue;
    auto close = format.find('}', i + 1);
    if (close == std::string_view::npos)
      return "has a \"{\" without its \"}\"; " + use;
    auto content = format.substr(i + 1, close - i - 1);
    if (auto digits = sequence_digits(content); digits > 0) {
      if (digits > max_sequence_digits)
        return "pads the sequence to at most "
          + std::to_string(max_sequence_digits) + " digits";
      ++sequences;
    } else if (content != "YYYY" && content != "YY") {
      return "has an unknown placeholder \"{" + std::string{content} + "}\"; "
        + use;
    }
    i = close;
  }
  if (sequences == 0)
    return "must contain the sequence placeholder {N} or {NNNNNN} (zero-"
           "padded to 6 digits), or numbers would repeat";
  if (sequences > 1)
    return "must contain only one sequence placeholder {N...}";
  return std::nullopt;
}

/// Whether `text` looks like an email address: one '@' between a local part
/// of 1 to 64 characters and a domain of non-empty labels, at least two,
/// without spaces.
bool is_email(std::string_view text) {
  auto at = text.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64
      || text.find('@', at + 1) != std::string_view::npos
      || text.find_first_of(" \t") != std::string_view::npos)
    return false;
  auto domain = text.substr(at + 1);
  if (domain.empty() || domain.front() == '.' || domain.back() == '.'
      || domain.find('.') == std::string_view::npos
      || domain.find("..") != std::string_view::npos)
    return false;
  return true;
}

bool is_http_url(std::string_view text) {
  for (std::string_view scheme : {"https://", "http://"})
    if (text.size() > scheme.size() && text.substr(0, scheme.size()) == scheme)
      return text.find_first_of(" \t") == std::string_view::npos;
  return false;
}

/// A day count `name` of `f`, from `lo` to `max_setting_days`.
void read_days(field_reader& f, std::string_view name, int lo, int& out) {
  if (const auto* v = f.find(name))
    if (auto days = f.take(name, read_integer(*v, lo, max_setting_days)))
      out = static_cast<int>(*days);
}

/// A strictly increasing list of day counts `name` of `f`, each from `lo` to
/// `max_setting_days`.
void read_day_list(field_reader& f, std::string_view name, int lo,
                   std::vector<int>& out) {
  const auto* v = f.find(name);
  if (v == nullptr)
    return;
  const auto* arr = v->if_array();
  if (arr == nullptr) {
    f.fail(name,
           "must be an array of day counts such as [1, 7], not a JSON "
             + std::string(json_kind_name(*v)));
    return;
  }
  auto before = f.problem_count();
  std::vector<int> days;
  for (size_t i = 0; i < arr->size(); ++i) {
    auto day = read_integer((*arr)[i], lo, max_setting_days);
    if (day)
      days.push_back(static_cast<int>(*day));
    else
      f.fail_at(f.path(name) + "[" + std::to_string(i) + "]",
                detail_of(day.error()));
  }
  if (f.problem_count() != before)
    return;
  if (std::adjacent_find(days.begin(), days.end(), std::greater_equal<>{})
      != days.end()) {
    f.fail(name,
           "must be strictly increasing, without repeats, such as "
           "[1, 7]");
    return;
  }
  out = std::move(days);
}

void read_late_fee(field_reader& top, const json::value& v,
                   late_fee_rule& out) {
  const auto* obj = read_object(top, "late_fee", v);
  if (obj == nullptr)
    return;
  std::vector<field_problem> problems;
  field_reader f{*obj, problems, "late_fee"};
  f.only({"type", "amount"}, "a late fee");
  late_fee_rule fee;
  const auto* type = f.find("type");
  const auto* amount = f.find("amount");
  std::optional<size_t> chosen;
  if (type == nullptr)
    f.fail("type", "is required: \"none\", \"percent\" or \"fixed\"");
  else
    chosen = read_choice(f, "type", *type, late_fee_names);
  if (chosen) {
    fee.type = static_cast<late_fee_type>(*chosen);
    switch (fee.type) {
      case late_fee_type::none:
        if (amount != nullptr)
          f.fail("amount", "must be left out when type is \"none\"");
        break;
      case late_fee_type::percent:
        if (amount == nullptr) {
          f.fail("amount", "is required: a percentage such as \"5.00\"");
        } else if (auto r = f.take("amount", parse_rate_field(*amount))) {
          if (r->units == 0)
            f.fail("amount",
                   "must be above 0; use type \"none\" for no "
                   "late fee");
          fee.percent = *r;
        }
        break;
      case late_fee_type::fixed: {
        const json::object* per_currency = nullptr;
        if (amount == nullptr)
          f.fail("amount",
                 "is required: the fee per currency, such as "
                 "{\"EUR\": \"5.00\"}");
        else
          per_currency = read_object(f, "amount", *amount);
        if (per_currency == nullptr)
          break;
        if (per_currency->empty())
          f.fail("amount",
                 "must name at least one currency, such as "
                 "{\"EUR\": \"5.00\"}");
        for (const auto& [code, money] : *per_currency) {
          auto path = f.path("amount") + "." + std::string{code};
          const auto* cur = find_currency(code);
          if (cur == nullptr) {
            f.fail_at(path,
                      "is not a current ISO 4217 currency code "
                      "(uppercase, such as \"EUR\")");
            continue;
          }
          auto minor = parse_money_field(money, *cur);
          if (!minor)
            f.fail_at(path, detail_of(minor.error()));
          else if (*minor <= 0)
            f.fail_at(path, "must be above 0");
          else
            fee.fixed.emplace(std::string{code}, *minor);
        }
        break;
      }
    }
  }
  if (problems.empty())
    out = std::move(fee);
  for (auto& p : problems)
    top.fail_at(std::move(p.field), std::move(p.detail));
}

void read_number_formats(field_reader& top, const json::value& v,
                         number_format_settings& out) {
  const auto* obj = read_object(top, "number_formats", v);
  if (obj == nullptr)
    return;
  std::vector<field_problem> problems;
  field_reader f{*obj, problems, "number_formats"};
  f.only({"invoice", "proforma", "credit_note"}, "number_formats");
  auto one = [&](std::string_view name, std::string& slot) {
    const auto* x = f.find(name);
    if (x == nullptr)
      return;
    auto text = f.take(name, read_string(*x, max_format_chars, false));
    if (!text)
      return;
    if (auto problem = number_format_problem(*text))
      f.fail(name, std::move(*problem));
    else
      slot = std::move(*text);
  };
  one("invoice", out.invoice);
  one("proforma", out.proforma);
  one("credit_note", out.credit_note);
  for (auto& p : problems)
    top.fail_at(std::move(p.field), std::move(p.detail));
}

void read_company(field_reader& top, const json::value& v,
                  company_details& out) {
  const auto* obj = read_object(top, "company", v);
  if (obj == nullptr)
    return;
  std::vector<field_problem> problems;
  field_reader f{*obj, problems, "company"};
  f.only({"name", "address", "tax_id", "email", "logo_url"}, "company");
  auto text = [&](std::string_view name, size_t max_chars) {
    const auto* x = f.find(name);
    if (x == nullptr)
      return std::optional<std::string>{};
    return f.take(name, read_string(*x, max_chars, true));
  };
  if (auto name = text("name", max_company_chars))
    out.name = std::move(*name);
  if (auto tax_id = text("tax_id", max_tax_id_chars))
    out.tax_id = std::move(*tax_id);
  if (auto email = text("email", max_email_chars)) {
    if (!email->empty() && !is_email(*email))
      f.fail("email",
             "must be an email address such as "
             "\"billing@example.com\", or \"\" for none");
    else
      out.email = std::move(*email);
  }
  if (auto url = text("logo_url", max_url_chars)) {
    if (!url->empty() && !is_http_url(*url))
      f.fail("logo_url",
             "must be an http or https URL such as "
             "\"https://example.com/logo.png\", or \"\" for "
             "none");
    else
      out.logo_url = std::move(*url);
  }
  if (const auto* x = f.find("address")) {
    const auto* arr = x->if_array();
    if (arr == nullptr) {
      f.fail("address",
             "must be an array of lines such as [\"Main St 1\", "
             "\"1011 AB Amsterdam\"], not a JSON "
               + std::string(json_kind_name(*x)));
    } else if (arr->size() > max_address_lines) {
      f.fail("address",
             "must have at most " + std::to_string(max_address_lines)
               + " lines");
    } else {
      auto before = problems.size();
      std::vector<std::string> lines;
      for (size_t i = 0; i < arr->size(); ++i) {
        auto line = read_string((*arr)[i], max_company_chars, false);
        if (line)
          lines.push_back(std::move(*line));
        else
          f.fail_at(f.path("address") + "[" + std::to_string(i) + "]",
                    detail_of(line.error()));
      }
      if (problems.size() == before)
        out.address = std::move(lines);
    }
  }
  for (auto& p : problems)
    top.fail_at(std::move(p.field), std::move(p.detail));
}

} // namespace

std::string_view to_string(billing_mode x) {
  return mode_names[static_cast<size_t>(x)];
}

std::string_view to_string(late_fee_type x) {
  return late_fee_names[static_cast<size_t>(x)];
}

validated<billing_settings>
apply_settings_update(const billing_settings& current,
                      const json::object& body) {
  std::vector<field_problem> problems;
  field_reader f{body, problems};
  f.only({"default_mode", "invoice_days_in_advance", "reminder_days_before_due",
          "overdue_reminder_days", "suspend_after_days_overdue",
          "terminate_after_days_overdue", "late_fee", "apply_credit",
          "prices_include_tax", "tax_rounding", "number_formats",
          "credit_unused_on_cancel", "company"},
         "the billing settings");
  auto s = current;
  if (const auto* v = f.find("default_mode"))
    if (auto i = read_choice(f, "default_mode", *v, mode_names))
      s.default_mode = static_cast<billing_mode>(*i);
  read_days(f, "invoice_days_in_advance", 0, s.invoice_days_in_advance);
  read_day_list(f, "reminder_days_before_due", 0, s.reminder_days_before_due);
  read_day_list(f, "overdue_reminder_days", 1, s.overdue_reminder_days);
  auto before_days = f.problem_count();
  read_days(f, "suspend_after_days_overdue", 0, s.suspend_after_days_overdue);
  read_days(f, "terminate_after_days_overdue", 0,
            s.terminate_after_days_overdue);
  if (f.problem_count() == before_days
      && s.terminate_after_days_overdue < s.suspend_after_days_overdue) {
    if (f.find("terminate_after_days_overdue") != nullptr)
      f.fail("terminate_after_days_overdue",
             "must not be less than suspend_after_days_overdue ("
               + std::to_string(s.suspend_after_days_overdue) + ")");
    else
      f.fail("suspend_after_days_overdue",
             "must not be more than terminate_after_days_overdue ("
               + std::to_string(s.terminate_after_days_overdue) + ")");
  }
  if (const auto* v = f.find("late_fee"))
    read_late_fee(f, *v, s.late_fee);
  auto flag = [&](std::string_view name, bool& slot) {
    if (const auto* v = f.find(name))
      if (auto b = f.take(name, read_bool(*v)))
        slot = *b;
  };
  flag("apply_credit", s.apply_credit);
  flag("prices_include_tax", s.prices_include_tax);
  flag("credit_unused_on_cancel", s.credit_unused_on_cancel);
  if (const auto* v = f.find("tax_rounding"))
    if (auto i = read_choice(f, "tax_rounding", *v, rounding_names))
      s.tax_rounding = static_cast<tax_rounding>(*i);
  if (const auto* v = f.find("number_formats"))
    read_number_formats(f, *v, s.number_formats);
  if (const auto* v = f.find("company"))
    read_company(f, *v, s.company);
  if (!problems.empty())
    return problems;
  return s;
}

json::object to_json(const billing_settings& s) {
  json::object out;
  out["default_mode"] = to_string(s.default_mode);
  out["invoice_days_in_advance"] = s.invoice_days_in_advance;
  out["reminder_days_before_due"] = json::array(
    s.reminder_days_before_due.begin(), s.reminder_days_before_due.end());
  out["overdue_reminder_days"] = json::array(s.overdue_reminder_days.begin(),
                                             s.overdue_reminder_days.end());
  out["suspend_after_days_overdue"] = s.suspend_after_days_overdue;
  out["terminate_after_days_overdue"] = s.terminate_after_days_overdue;
  json::object fee{{"type", to_string(s.late_fee.type)}};
  if (s.late_fee.type == late_fee_type::percent) {
    fee["amount"] = format_rate(s.late_fee.percent);
  } else if (s.late_fee.type == late_fee_type::fixed) {
    json::object per_currency;
    for (const auto& [code, minor] : s.late_fee.fixed)
      if (const auto* cur = find_currency(code))
        per_currency[code] = format_amount(minor, *cur);
    fee["amount"] = std::move(per_currency);
  }
  out["late_fee"] = std::move(fee);
  out["apply_credit"] = s.apply_credit;
  out["prices_include_tax"] = s.prices_include_tax;
  out["tax_rounding"] = to_string(s.tax_rounding);
  out["number_formats"] = json::object{
    {"invoice", s.number_formats.invoice},
    {"proforma", s.number_formats.proforma},
    {"credit_note", s.number_formats.credit_note},
  };
  out["credit_unused_on_cancel"] = s.credit_unused_on_cancel;
  out["company"] = json::object{
    {"name", s.company.name},
    {"address",
     json::array(s.company.address.begin(), s.company.address.end())},
    {"tax_id", s.company.tax_id},
    {"email", s.company.email},
    {"logo_url", s.company.logo_url},
  };
  return out;
}

validated<billing_settings> settings_from_json(const json::object& obj) {
  return apply_settings_update(billing_settings{}, obj);
}

std::string format_number(std::string_view format, uint64_t sequence,
                          int year) {
  auto padded = [](std::string digits, size_t width) {
    if (digits.size() < width)
      digits.insert(0, width - digits.size(), '0');
    return digits;
  };
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    auto close = format[i] == '{' ? format.find('}', i + 1)
                                  : std::string_view::npos;
    if (close == std::string_view::npos) {
      out.push_back(format[i]);
      continue;
    }
    auto content = format.substr(i + 1, close - i - 1);
    if (content == "YYYY")
      out += padded(std::to_string(year), 4);
    else if (content == "YY")
      out += padded(std::to_string(year % 100), 2);
    else if (auto digits = sequence_digits(content); digits > 0)
      out += padded(std::to_string(sequence), digits);
    else {
      out.push_back(format[i]); // not a placeholder: copied as is
      continue;
    }
    i = close;
  }
  return out;
}

} // namespace billow::billing
