// The served OpenAPI document describes every route and is valid OpenAPI 3,
// as checked by a real validator (@apidevtools/swagger-parser from npm,
// installed by scripts/setup), and Spectral's OpenAPI ruleset finds nothing
// in it, no warning either (tests/api/spectral.yaml says which rule is off,
// and why).

#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/application.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

TEST(openapi_test, served_document_is_valid_and_lists_every_route) {
  billow::test::temp_dir dir{"openapi"};
  billow::api::application_options opts;
  opts.http.port = 0;
  opts.data_dir = dir.path() / "data";
  billow::api::application app{opts};
  ASSERT_FALSE(app.start());
  auto reply = billow::test::http_get(app.port(), "/api/v1/openapi.json");
  ASSERT_EQ(reply.status, 200u);
  auto doc = boost::json::parse(reply.body).as_object();
  const auto& paths = doc.at("paths").as_object();
  for (auto [path, method] :
       {std::pair{"/healthz", "get"}, std::pair{"/readyz", "get"},
        std::pair{"/metrics", "get"}, std::pair{"/api/v1/openapi.json", "get"},
        std::pair{"/api/v1/auth/admin/token", "post"},
        std::pair{"/api/v1/admin/events", "get"},
        std::pair{"/api/v1/admin/streams/{stream}", "get"},
        std::pair{"/api/v1/admin/audit/verify", "get"},
        std::pair{"/api/v1/admin/modules", "get"},
        std::pair{"/api/v1/admin/modules/{type}/{name}/activate", "post"}}) {
    ASSERT_TRUE(paths.contains(path)) << path;
    EXPECT_TRUE(paths.at(path).as_object().contains(method))
      << path << " " << method;
  }
  auto events = paths.at("/api/v1/admin/events").at("get").as_object();
  EXPECT_EQ(events.at("x-permission").as_string(), "events.read");
  EXPECT_TRUE(events.at("responses").as_object().contains("401"));

  auto file = dir.path() / "openapi.json";
  std::ofstream{file} << reply.body;
  auto cmd = std::string{"NODE_PATH='"} + BILLOW_NODE_TOOLS
    + "' node -e \"require('@apidevtools/swagger-parser').validate('"
    + file.string()
    + "').then(() => console.log('valid')).catch(e => { "
      "console.error(e.message); process.exit(1); })\" 2>&1";
  std::string out;
  auto* pipe = ::popen(cmd.c_str(), "r");
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof(buf), pipe))
    out.append(buf, n);
  EXPECT_EQ(::pclose(pipe), 0) << out;
  EXPECT_NE(out.find("valid"), std::string::npos) << out;
}

TEST(openapi_test, served_document_passes_spectral_without_a_warning) {
  billow::test::temp_dir dir{"openapi"};
  billow::api::application_options opts;
  opts.http.port = 0;
  opts.data_dir = dir.path() / "data";
  billow::api::application app{opts};
  ASSERT_FALSE(app.start());
  auto reply = billow::test::http_get(app.port(), "/api/v1/openapi.json");
  ASSERT_EQ(reply.status, 200u);
  auto file = dir.path() / "openapi.json";
  std::ofstream{file} << reply.body;
  auto cmd = std::string{"'"} + BILLOW_NODE_TOOLS + "/.bin/spectral' lint '"
    + file.string() + "' --ruleset '" + BILLOW_SPECTRAL_RULESET
    + "' --fail-severity=warn --format text 2>&1";
  std::string out;
  auto* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof(buf), pipe))
    out.append(buf, n);
  EXPECT_EQ(::pclose(pipe), 0) << out;
  EXPECT_EQ(out.find("warning"), std::string::npos) << out;
  EXPECT_EQ(out.find("error"), std::string::npos) << out;
}
