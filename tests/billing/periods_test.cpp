// Periods from the anchor, clamped to the month's end.

#include <gtest/gtest.h>

#include "actors/billing/periods.hpp"

namespace billow::billing {
namespace {

std::string start(std::string_view anchor, std::string_view period, int64_t k) {
  auto s = period_start(anchor, period, k);
  return s ? *s : "error";
}

TEST(periods, months_are_counted_from_the_anchor_and_clamped) {
  EXPECT_EQ(start("2026-01-31", "monthly", 1), "2026-02-28");
  EXPECT_EQ(start("2026-01-31", "monthly", 2), "2026-03-31");
  EXPECT_EQ(start("2026-01-31", "monthly", 3), "2026-04-30");
  EXPECT_EQ(start("2028-01-31", "monthly", 1), "2028-02-29");
  EXPECT_EQ(start("2026-11-30", "quarterly", 1), "2027-02-28");
  EXPECT_EQ(start("2024-02-29", "annually", 1), "2025-02-28");
  EXPECT_EQ(start("2024-02-29", "annually", 4), "2028-02-29");
  EXPECT_EQ(start("2026-03-15", "triennially", 1), "2029-03-15");
}

TEST(periods, days_and_weeks_are_exact) {
  EXPECT_EQ(start("2026-12-31", "daily", 1), "2027-01-01");
  EXPECT_EQ(start("2026-12-28", "weekly", 1), "2027-01-04");
  EXPECT_EQ(start("2026-12-28", "biweekly", 2), "2027-01-25");
}

TEST(periods, an_end_is_the_day_before_the_next_start) {
  auto end = period_end("2026-01-31", "monthly", 0);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, "2026-02-27");
  end = period_end("2026-12-07", "annually", 0);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, "2027-12-06");
}

TEST(periods, the_first_period_from_a_date_is_found_from_the_anchor) {
  // Jan 31 -> Feb 28, Mar 31, Apr 30: the period after Feb 28's starts Mar 31.
  EXPECT_EQ(*first_period_from("2025-01-31", "monthly", "2025-01-31"), 0);
  EXPECT_EQ(*first_period_from("2025-01-31", "monthly", "2025-02-28"), 1);
  EXPECT_EQ(*first_period_from("2025-01-31", "monthly", "2025-03-01"), 2);
  EXPECT_EQ(*first_period_from("2025-01-31", "monthly", "2025-03-31"), 2);
  EXPECT_EQ(*first_period_from("2025-01-31", "monthly", "2026-01-31"), 12);
  EXPECT_EQ(*first_period_from("2025-01-31", "weekly", "2025-02-08"), 2);
  EXPECT_EQ(*first_period_from("2025-01-31", "annually", "2024-01-01"), 0);
  EXPECT_EQ(*add_days("2024-02-28", 1), "2024-02-29");
  EXPECT_EQ(*add_days("2025-03-01", -1), "2025-02-28");
  EXPECT_FALSE(first_period_from("2025-01-31", "hourly", "2025-03-01"));
}

TEST(periods, bad_input_is_refused) {
  EXPECT_FALSE(period_start("2026-02-30", "monthly", 1));
  EXPECT_FALSE(period_start("26-01-01", "monthly", 1));
  EXPECT_FALSE(period_start("2026-01-01", "one_time", 1));
  EXPECT_FALSE(period_start("2026-01-01", "hourly", 1));
}

} // namespace
} // namespace billow::billing
