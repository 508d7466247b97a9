#include "api/json_body.hpp"

#include <algorithm>

#include <chrono>
#include <cstdio>
#include <ctime>

#include <boost/json.hpp>
#include <fmt/compile.h>
#include <fmt/format.h>

namespace billow::api {

std::optional<http_response> parse_object_body(const http_request& req,
                                               boost::json::object& out) {
  if (req.body.empty())
    return problem_response(400, "The request needs a JSON object body.");
  boost::json::parse_options popts;
  popts.max_depth = 32;
  boost::system::error_code ec;
  auto value = boost::json::parse(req.body, ec, {}, popts);
  if (ec)
    return problem_response(
      400, "The body is not valid JSON: " + ec.message() + ".");
  if (!value.is_object())
    return problem_response(422, "The body must be a JSON object.");
  out = std::move(value.as_object());
  return std::nullopt;
}

std::string field_checker::required_string(std::string_view field,
                                           size_t max_len) {
  auto* v = obj_.if_contains(field);
  if (v == nullptr) {
    fail(std::string{field}, "is required");
    return {};
  }
  if (!v->is_string()) {
    fail(std::string{field}, "must be a string");
    return {};
  }
  std::string text{v->as_string()};
  if (text.empty())
    fail(std::string{field}, "must not be empty");
  else if (text.size() > max_len)
    fail(std::string{field},
         "must be at most " + std::to_string(max_len) + " characters");
  return text;
}

std::string field_checker::optional_string(std::string_view field,
                                           size_t max_len) {
  auto* v = obj_.if_contains(field);
  if (v == nullptr || v->is_null())
    return {};
  if (!v->is_string()) {
    fail(std::string{field}, "must be a string");
    return {};
  }
  std::string text{v->as_string()};
  if (text.size() > max_len)
    fail(std::string{field},
         "must be at most " + std::to_string(max_len) + " characters");
  return text;
}

void field_checker::fail(std::string field, std::string message) {
  errors_.push_back(field_error{std::move(field), std::move(message)});
}

void field_checker::only(std::initializer_list<std::string_view> known,
                         std::initializer_list<std::string_view> not_yet) {
  auto in = [](std::initializer_list<std::string_view> names,
               std::string_view key) {
    return std::find(names.begin(), names.end(), key) != names.end();
  };
  for (const auto& [key, value] : obj_) {
    if (in(not_yet, key))
      fail(std::string{key}, "is not supported yet");
    else if (!in(known, key))
      fail(std::string{key}, "is not a field of this request");
  }
}

http_response field_checker::problem() const {
  api::problem p;
  p.status = 422;
  p.title = "Validation failed";
  p.type = "/problems/validation";
  std::string detail;
  for (const auto& e : errors_)
    detail += (detail.empty() ? "" : "; ") + e.field + " " + e.message;
  p.detail = detail + ".";
  p.errors = errors_;
  return problem_response(p);
}

std::string rfc3339(int64_t unix_us) {
  // Calendar arithmetic, not gmtime_r + strftime: glibc's gmtime_r takes the
  // time-zone lock, and a service's JSON has two of these times.
  using namespace std::chrono;
  sys_time<microseconds> t{microseconds{unix_us}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<microseconds> hms{t - day};
  return fmt::format(FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z"),
                     static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count(),
                     hms.subseconds().count());
}

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  std::string str{text};
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h,
                  &mi, &s, &consumed)
        != 6
      || consumed != 19)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  int64_t us = static_cast<int64_t>(timegm(&tm)) * 1'000'000;
  size_t pos = 19;
  if (pos < str.size() && str[pos] == '.') {
    int64_t frac = 0;
    int digits = 0;
    ++pos;
    while (pos < str.size()
           && std::isdigit(static_cast<unsigned char>(str[pos]))) {
      if (digits < 6) {
        frac = frac * 10 + (str[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0)
      return std::nullopt;
    while (digits++ < 6)
      frac *= 10;
    us += frac;
  }
  if (pos < str.size() && (str[pos] == 'Z' || str[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == str.size() && (str[pos] == '+' || str[pos] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(str.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2)
      return std::nullopt;
    int64_t offset = (int64_t{oh} * 3600 + int64_t{om} * 60) * 1'000'000;
    us += str[pos] == '+' ? -offset : offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != str.size())
    return std::nullopt;
  return us;
}

} // namespace billow::api
