#include "actors/billing/periods.hpp"

#include <chrono>

#include <fmt/format.h>

#include "events/errc.hpp"

namespace billow::billing {

namespace {

using namespace std::chrono;

/// Months (or days when `days` is set) in one period.
bool period_length(std::string_view period, int& months, int& days) {
  months = 0;
  days = 0;
  if (period == "daily")
    days = 1;
  else if (period == "weekly")
    days = 7;
  else if (period == "biweekly")
    days = 14;
  else if (period == "monthly")
    months = 1;
  else if (period == "quarterly")
    months = 3;
  else if (period == "semiannually")
    months = 6;
  else if (period == "annually")
    months = 12;
  else if (period == "biennially")
    months = 24;
  else if (period == "triennially")
    months = 36;
  else
    return false;
  return true;
}

/// `period_length`, refusing a period that is not on the calendar.
caf::error calendar_length(std::string_view period, int& months, int& days) {
  if (!period_length(period, months, days))
    return make_error(billow_errc::invalid_argument,
                      "period " + std::string{period}
                        + " has no length on the calendar");
  return {};
}

caf::expected<year_month_day> parse_date(std::string_view text) {
  auto digits = [&](size_t at, size_t n, int& out) {
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (i >= text.size() || text[i] < '0' || text[i] > '9')
        return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digits(0, 4, y)
      || !digits(5, 2, m) || !digits(8, 2, d))
    return make_error(billow_errc::invalid_argument,
                      "must be a date such as 2026-01-31");
  year_month_day ymd{year{y}, month{static_cast<unsigned>(m)},
                     day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return make_error(billow_errc::invalid_argument,
                      "is not a day of the calendar");
  return ymd;
}

std::string text_of(year_month_day ymd) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

} // namespace

bool is_calendar_period(std::string_view period) {
  int months = 0, days = 0;
  return period_length(period, months, days);
}

caf::expected<std::string> period_start(std::string_view anchor,
                                        std::string_view period, int64_t k) {
  int months = 0, days = 0;
  if (auto err = calendar_length(period, months, days))
    return err;
  auto start = parse_date(anchor);
  if (!start)
    return start.error();
  if (days > 0)
    return text_of(
      year_month_day{sys_days{*start} + std::chrono::days{days * k}});
  auto ym = year_month{start->year(), start->month()}
    + std::chrono::months{months * k};
  auto last = year_month_day_last{ym.year(), month_day_last{ym.month()}};
  auto d = std::min(start->day(), last.day());
  return text_of(year_month_day{ym.year(), ym.month(), d});
}

caf::expected<std::string> period_end(std::string_view anchor,
                                      std::string_view period, int64_t k) {
  auto next = period_start(anchor, period, k + 1);
  if (!next)
    return next.error();
  auto ymd = parse_date(*next);
  return text_of(year_month_day{sys_days{*ymd} - std::chrono::days{1}});
}

caf::expected<std::string> add_days(std::string_view date, int64_t n) {
  auto ymd = parse_date(date);
  if (!ymd)
    return ymd.error();
  return text_of(year_month_day{sys_days{*ymd} + std::chrono::days{n}});
}

caf::expected<int64_t> first_period_from(std::string_view anchor,
                                         std::string_view period,
                                         std::string_view date) {
  int months = 0, days = 0;
  if (auto err = calendar_length(period, months, days))
    return err;
  auto from = parse_date(anchor);
  if (!from)
    return from.error();
  auto to = parse_date(date);
  if (!to)
    return to.error();
  if (sys_days{*to} <= sys_days{*from})
    return int64_t{0};
  // An estimate from the distance, then the exact index by the clamped
  // starts themselves (dates compare as text).
  int64_t k = 0;
  if (days > 0) {
    k = (sys_days{*to} - sys_days{*from}).count() / days;
  } else {
    auto diff = (year_month{to->year(), to->month()}
                 - year_month{from->year(), from->month()})
                  .count();
    k = diff / months;
  }
  k = std::max<int64_t>(k - 1, 0);
  for (;;) {
    auto start = period_start(anchor, period, k);
    if (!start)
      return start.error();
    if (*start >= date)
      return k;
    ++k;
  }
}

} // namespace billow::billing
