#pragma once

// Billing periods on the calendar: period k of a service starts `k` periods
// after its anchor, computed from the anchor each time (never by adding a
// month to the previous end), the day clamped to the month's end: a service
// anchored on Jan 31 renews on Feb 28 (29), Mar 31, Apr 30, ...

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace billow::billing {

/// Whether `period` (docs/api.md: one_time, hourly, daily, weekly, biweekly,
/// monthly, quarterly, semiannually, annually, biennially, triennially) is
/// measured in days or months on the calendar; `one_time` and `hourly` are
/// not.
bool is_calendar_period(std::string_view period);

/// The start of period `k` (0 is the anchor itself) of `period` from
/// `anchor` (`YYYY-MM-DD`), as `YYYY-MM-DD`. Refuses a malformed date and a
/// period that is not a calendar period.
caf::expected<std::string> period_start(std::string_view anchor,
                                        std::string_view period, int64_t k);

/// The last day of period `k`: the day before period `k + 1` starts.
caf::expected<std::string> period_end(std::string_view anchor,
                                      std::string_view period, int64_t k);

/// The day `n` days after `date` (`YYYY-MM-DD`; `n` may be negative).
caf::expected<std::string> add_days(std::string_view date, int64_t n);

/// The first period of `period` from `anchor` that starts on or after
/// `date`: its index k (0 when `date` is on or before the anchor).
caf::expected<int64_t> first_period_from(std::string_view anchor,
                                         std::string_view period,
                                         std::string_view date);

} // namespace billow::billing
