// The request/response JSON helpers that every route shares.

#include <gtest/gtest.h>

#include "api/json_body.hpp"

using billow::api::parse_rfc3339;
using billow::api::rfc3339;

TEST(rfc3339, formats_utc_with_microseconds) {
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(rfc3339(1'733'328'000'123'456), "2024-12-04T16:00:00.123456Z");
  EXPECT_EQ(rfc3339(951'782'400'000'000), "2000-02-29T00:00:00.000000Z");
  // Before 1970 the microseconds still count forward within their second.
  EXPECT_EQ(rfc3339(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(rfc3339, parses_back_what_it_formats) {
  for (int64_t us : {int64_t{0}, int64_t{1'733'328'000'123'456},
                     int64_t{-86'400'000'001}, int64_t{4'102'444'799'999'999}})
    EXPECT_EQ(parse_rfc3339(rfc3339(us)), us) << rfc3339(us);
}
