// Settings precedence (flags > environment > billow.toml > defaults) and the
// errors an operator gets for bad settings.

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "cli/settings.hpp"
#include "events/errc.hpp"
#include "tests/support/temp_dir.hpp"

using billow::cli::load_env_settings;
using billow::cli::load_toml_settings;
using billow::cli::resolve_settings;
using billow::cli::settings_layer;

namespace {

class settings_test : public ::testing::Test {
protected:
  void TearDown() override {
    for (const char* name : {"BILLOW_LISTEN", "BILLOW_DATA", "BILLOW_LOG_LEVEL",
                             "BILLOW_LOG_FORMAT", "BILLOW_BODY_LIMIT"})
      ::unsetenv(name);
  }

  std::string write_toml(const std::string& text) {
    auto path = (dir_.path() / "billow.toml").string();
    std::ofstream{path} << text;
    return path;
  }

  billow::test::temp_dir dir_;
};

} // namespace

TEST_F(settings_test, defaults_serve_loopback_8080_with_data_in_dot_data) {
  auto s = resolve_settings(settings_layer{});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->app.http.host, "127.0.0.1");
  EXPECT_EQ(s->app.http.port, 8080);
  EXPECT_EQ(s->app.data_dir, "data");
  EXPECT_EQ(s->app.http.body_limit, 1024u * 1024u);
  EXPECT_EQ(s->log_level, "info");
  EXPECT_EQ(s->format, billow::cli::log_format::text);
}

TEST_F(settings_test, flags_beat_environment_beat_file_beat_defaults) {
  auto path = write_toml(R"(
listen = "127.0.0.1:7000"
data = "/srv/file"
[log]
level = "warn"
format = "json"
[http]
body_limit = 4096
)");
  ::setenv("BILLOW_LISTEN", "127.0.0.1:7100", 1);
  ::setenv("BILLOW_DATA", "/srv/env", 1);
  settings_layer flags;
  flags.listen = "127.0.0.1:7200";
  auto file = load_toml_settings(path);
  ASSERT_TRUE(file) << billow::detail_of(file.error());
  settings_layer merged = flags;
  merged.fill_from(load_env_settings());
  merged.fill_from(*file);
  auto s = resolve_settings(merged);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->app.http.port, 7200);      // flag
  EXPECT_EQ(s->app.data_dir, "/srv/env"); // environment
  EXPECT_EQ(s->log_level, "warn");        // file
  EXPECT_EQ(s->format, billow::cli::log_format::json);
  EXPECT_EQ(s->app.http.body_limit, 4096u);            // file
  EXPECT_EQ(s->app.http.idle_timeout.count(), 60'000); // default
}

TEST_F(settings_test, unknown_setting_in_file_is_refused_by_name) {
  auto path = write_toml("[http]\nbody_limt = 5\n");
  auto file = load_toml_settings(path);
  ASSERT_FALSE(file);
  EXPECT_EQ(billow::errc_of(file.error()),
            billow::billow_errc::invalid_argument);
  EXPECT_NE(billow::detail_of(file.error()).find("http.body_limt"),
            std::string::npos);
}

TEST_F(settings_test, wrong_type_in_file_is_refused_by_name) {
  auto path = write_toml("listen = 8080\n");
  auto file = load_toml_settings(path);
  ASSERT_FALSE(file);
  EXPECT_NE(billow::detail_of(file.error()).find("listen must be a string"),
            std::string::npos);
}

TEST_F(settings_test, malformed_file_names_the_line) {
  auto path = write_toml("listen = \"x\"\n[http\n");
  auto file = load_toml_settings(path);
  ASSERT_FALSE(file);
  EXPECT_NE(billow::detail_of(file.error()).find("line 2"), std::string::npos);
}

TEST_F(settings_test, bad_listen_address_is_refused) {
  for (const char* bad :
       {"8080", "localhost:", ":80", "127.0.0.1:99999", "127.0.0.1:http"}) {
    settings_layer layer;
    layer.listen = bad;
    EXPECT_FALSE(resolve_settings(layer)) << bad;
  }
  auto v6 = billow::cli::parse_listen("[::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(v6->second, 9000);
}

TEST_F(settings_test, bad_numbers_and_names_are_refused) {
  settings_layer zero_limit;
  zero_limit.body_limit = 0;
  EXPECT_FALSE(resolve_settings(zero_limit));
  settings_layer bad_level;
  bad_level.log_level = "loud";
  EXPECT_FALSE(resolve_settings(bad_level));
  settings_layer bad_format;
  bad_format.log_format = "xml";
  EXPECT_FALSE(resolve_settings(bad_format));
  ::setenv("BILLOW_BODY_LIMIT", "12kb", 1);
  EXPECT_FALSE(resolve_settings(load_env_settings()));
}
