// The request/response JSON helpers that every route shares.

#include <boost/json.hpp>
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

TEST(field_checker_test, only_known_fields_pass) {
  boost::json::object body{
    {"name", "Ada"}, {"colour", "red"}, {"billing_mode", "prepaid"}};
  billow::api::field_checker check{body};
  check.only({"name", "email"}, {"billing_mode"});
  ASSERT_FALSE(check.ok());
  auto problem = boost::json::parse(check.problem().body);
  const auto& errors = problem.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].at("field").as_string(), "colour");
  EXPECT_EQ(errors[0].at("message").as_string(),
            "is not a field of this request");
  EXPECT_EQ(errors[1].at("field").as_string(), "billing_mode");
  EXPECT_EQ(errors[1].at("message").as_string(), "is not supported yet");

  boost::json::object good{{"name", "Ada"}};
  billow::api::field_checker fine{good};
  fine.only({"name", "email"});
  EXPECT_TRUE(fine.ok());
}
