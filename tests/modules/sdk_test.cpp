#include <fstream>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include "events/errc.hpp"
#include "modules/sdk/lifecycle.hpp"
#include "modules/sdk/module_context.hpp"
#include "modules/sdk/product.hpp"
#include "modules/sdk/secret_box.hpp"
#include "modules/sdk/view_renderer.hpp"
#include "tests/modules/test_helpers.hpp"
#include "tests/support/temp_dir.hpp"

namespace sdk = billow::modules::sdk;
using billow::billow_errc;

namespace {

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream{p} << text;
}

TEST(secret_box_test, seal_round_trips_and_never_shows_the_secret) {
  auto box = sdk::secret_box::from_config(sdk::secret_box::generate_key_hex());
  ASSERT_TRUE(box);
  auto sealed = box->seal("hunter2 p@ss");
  EXPECT_TRUE(sdk::secret_box::is_sealed(sealed));
  EXPECT_EQ(sealed.find("hunter2"), std::string::npos);
  EXPECT_NE(sealed, box->seal("hunter2 p@ss")); // fresh nonce each time
  auto opened = box->unseal(sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, "hunter2 p@ss");
}

TEST(secret_box_test, wrong_key_tampering_and_clear_text_are_refused) {
  auto box = sdk::secret_box::from_config(sdk::secret_box::generate_key_hex());
  auto other
    = sdk::secret_box::from_config(sdk::secret_box::generate_key_hex());
  ASSERT_TRUE(box && other);
  auto sealed = box->seal("secret");
  auto wrong = other->unseal(sealed);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(billow::errc_of(wrong.error()), billow_errc::invalid_argument);
  auto tampered = sealed;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B'
                                                                       : 'A';
  EXPECT_FALSE(box->unseal(tampered));
  EXPECT_FALSE(box->unseal("secret"));
  EXPECT_FALSE(box->unseal("sealed:v1:!!!"));
  EXPECT_FALSE(sdk::secret_box::from_config("too-short"));
}

TEST(secret_box_test, secret_keys_are_found_whatever_their_case) {
  using billow::modules::sdk::looks_secret;
  for (auto key : {"password", "admin_password", "Password", "DB_PASSWD",
                   "client_secret", "API-Key", "apiKey", "api_key",
                   "access_token", "private_key", "PrivateKey"})
    EXPECT_TRUE(looks_secret(key)) << key;
  for (auto key : {"host", "port", "user", "email", "server", "db_prefix",
                   "connection_limit", "keyboard"})
    EXPECT_FALSE(looks_secret(key)) << key;
  boost::json::value doc = boost::json::parse(
    R"({"Password":"p","nested":[{"ApiKey":"k","host":"h"}]})");
  billow::modules::sdk::redact_secrets(doc);
  EXPECT_EQ(doc.at("Password"), "[redacted]");
  EXPECT_EQ(doc.at("nested").at(0).at("ApiKey"), "[redacted]");
  EXPECT_EQ(doc.at("nested").at(0).at("host"), "h");
}

TEST(view_renderer_test, escapes_html_by_default_and_uses_lang_strings) {
  billow::test::temp_dir dir;
  write(dir.path() / "views/client_area/page.mustache",
        "<h1>{{lang.title}}</h1>{{name}}|{{{trusted}}}|{{#items}}[{{.}}]"
        "{{/items}}|{{count}}");
  write(dir.path() / "lang/en.json", R"({"title": "Welcome"})");
  write(dir.path() / "lang/pl.json", R"({"title": "Witaj"})");
  sdk::view_renderer en{dir.path(), "en"};
  boost::json::object data{{"name", "<script>alert('x')</script>"},
                           {"trusted", "<b>ok</b>"},
                           {"items", boost::json::array{"a", "b"}},
                           {"count", 3}};
  auto out = en.render("client_area.page", data);
  ASSERT_TRUE(out) << billow::detail_of(out.error());
  EXPECT_EQ(*out,
            "<h1>Welcome</h1>&lt;script&gt;alert(&apos;x&apos;)&lt;/"
            "script&gt;|<b>ok</b>|[a][b]|3");
  auto pl = sdk::view_renderer{dir.path(), "pl"}.render("client_area.page",
                                                        data);
  ASSERT_TRUE(pl);
  EXPECT_TRUE(pl->starts_with("<h1>Witaj</h1>"));
  // An unknown language falls back to English.
  auto de = sdk::view_renderer{dir.path(), "de"}.render("client_area.page",
                                                        data);
  ASSERT_TRUE(de);
  EXPECT_TRUE(de->starts_with("<h1>Welcome</h1>"));
}

TEST(view_renderer_test, missing_bad_and_escaping_template_names_fail) {
  billow::test::temp_dir dir;
  write(dir.path() / "views/broken.mustache", "{{#open}} never closed");
  sdk::view_renderer r{dir.path(), "en"};
  auto missing = r.render("nope", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(billow::errc_of(missing.error()), billow_errc::not_found);
  auto broken = r.render("broken", {});
  ASSERT_FALSE(broken);
  EXPECT_EQ(billow::errc_of(broken.error()), billow_errc::invalid_argument);
  EXPECT_FALSE(r.render("../etc/passwd", {}));
}

TEST(module_context_test, config_walks_dotted_keys_and_tasks_carry_options) {
  auto queue = std::make_shared<billow::test::recording_queue>();
  auto log = std::make_shared<billow::test::recording_log>();
  sdk::context_options opts;
  opts.manifest.name = "demo";
  opts.manifest.type = sdk::module_type::product;
  opts.config = {{"smtp", {{"port", 2525}}}, {"name", "x"}};
  opts.tasks = queue;
  opts.log = log;
  sdk::module_context ctx{opts};
  EXPECT_EQ(ctx.config("smtp.port"), boost::json::value(2525));
  EXPECT_EQ(ctx.config("name"), boost::json::value("x"));
  EXPECT_TRUE(ctx.config("smtp.host").is_null());
  EXPECT_TRUE(ctx.config("name.deeper").is_null());
  sdk::job_options jo;
  jo.tries = 3;
  jo.backoff = std::chrono::seconds{5};
  jo.max_exceptions = 2;
  auto id = ctx.tasks().add("create_job", {{"service_uuid", "s1"}}, {"create"},
                            jo);
  ASSERT_TRUE(id);
  ASSERT_EQ(queue->requests.size(), 1u);
  const auto& req = queue->requests.front();
  EXPECT_EQ(req.module_type, "Product");
  EXPECT_EQ(req.module_name, "demo");
  EXPECT_EQ(req.method, "create_job");
  EXPECT_EQ(req.tags, std::vector<std::string>{"create"});
  EXPECT_EQ(req.options.tries, 3);
  EXPECT_EQ(req.options.max_exceptions, 2);
  jo.tries = 0;
  EXPECT_FALSE(ctx.tasks().add("create_job", {}, {}, jo));
  ctx.log(sdk::log_level::error, "send", "boom", {{"k", 1}});
  ASSERT_EQ(log->records().size(), 1u);
  EXPECT_EQ(log->records()[0].level, sdk::log_level::error);
  EXPECT_EQ(log->records()[0].module_name, "demo");
  // Without a queue or key the context answers clear errors.
  sdk::module_context bare{sdk::context_options{}};
  EXPECT_EQ(billow::errc_of(bare.tasks().add("x", {}).error()),
            billow_errc::unavailable);
  EXPECT_EQ(billow::errc_of(bare.seal("x").error()), billow_errc::unavailable);
}

class demo_product : public sdk::product {
public:
  demo_product() {
    register_client_tab("general", [](const sdk::client_call& call) {
      return caf::expected<boost::json::object>{
        boost::json::object{{"uuid", call.service.service_uuid}}};
    });
    register_client_controller(
      "general", "ping",
      [](const sdk::client_call&) -> caf::expected<boost::json::value> {
        return boost::json::value("pong");
      });
  }
};

TEST(product_test,
     lifecycle_commands_queue_jobs_and_defaults_are_not_supported) {
  auto queue = std::make_shared<billow::test::recording_queue>();
  sdk::context_options opts;
  opts.manifest.name = "demo";
  opts.manifest.type = sdk::module_type::product;
  opts.tasks = queue;
  demo_product p;
  p.attach(std::make_shared<sdk::module_context>(opts));
  sdk::service_context svc{"svc-1", "client-1", {}, {}};
  ASSERT_TRUE(p.create(svc));
  ASSERT_TRUE(p.suspend(svc));
  ASSERT_TRUE(p.termination(svc));
  ASSERT_EQ(queue->requests.size(), 3u);
  EXPECT_EQ(queue->requests[0].method, "create_job");
  EXPECT_EQ(queue->requests[1].method, "suspend_job");
  EXPECT_EQ(queue->requests[2].tags, std::vector<std::string>{"termination"});
  EXPECT_EQ(queue->requests[0].data.at("service_uuid"), "svc-1");
  EXPECT_EQ(queue->requests[0].options.timeout, std::chrono::seconds{600});
  sdk::job_call call{"create_job", {}, svc};
  auto res = p.run_job(call);
  ASSERT_FALSE(res);
  EXPECT_TRUE(sdk::is_not_supported(res.error()));
  sdk::job_call no_service{"create_job", {}, std::nullopt};
  EXPECT_EQ(billow::errc_of(p.run_job(no_service).error()),
            billow_errc::invalid_argument);
  sdk::job_call unknown{"frobnicate_job", {}, svc};
  EXPECT_FALSE(sdk::is_not_supported(p.run_job(unknown).error()));
  sdk::client_call cc{svc, "client-1", true, {}};
  auto vars = p.call_client_tab_variables("general", cc);
  ASSERT_TRUE(vars);
  EXPECT_EQ(vars->at("uuid"), "svc-1");
  EXPECT_EQ(*p.call_client_controller("general", "ping", cc),
            boost::json::value("pong"));
  EXPECT_EQ(billow::errc_of(p.call_client_tab_variables("nope", cc).error()),
            billow_errc::not_found);
  EXPECT_EQ(
    billow::errc_of(p.call_client_controller("general", "nope", cc).error()),
    billow_errc::not_found);
}

TEST(lifecycle_test, plans_activate_update_deactivate_from_recorded_state) {
  using step = sdk::lifecycle_step;
  using cmd = sdk::lifecycle_command;
  auto plan = [](const sdk::module_record& r, const std::string& v, cmd c) {
    auto p = sdk::plan_lifecycle(r, v, c);
    EXPECT_TRUE(p) << billow::detail_of(p.error());
    return p ? *p : std::vector<step>{};
  };
  // Never activated: start runs nothing, activate runs activate().
  EXPECT_TRUE(plan({false, std::nullopt}, "1.0.0", cmd::start).empty());
  EXPECT_EQ(plan({false, std::nullopt}, "1.0.0", cmd::activate),
            (std::vector<step>{{step::activate, ""}}));
  // Active at 1.0.0 and module.json says 1.2.0: update from 1.0.0.
  EXPECT_EQ(plan({true, "1.0.0"}, "1.2.0", cmd::start),
            (std::vector<step>{{step::update, "1.0.0"}}));
  EXPECT_TRUE(plan({true, "1.2.0"}, "1.2", cmd::start).empty());
  EXPECT_TRUE(plan({true, "1.2.0"}, "1.2.0", cmd::activate).empty());
  // Re-activating an older install runs activate() then update().
  EXPECT_EQ(plan({false, "0.9"}, "1.0.0", cmd::activate),
            (std::vector<step>{{step::activate, ""}, {step::update, "0.9"}}));
  EXPECT_EQ(plan({true, "1.0.0"}, "1.0.0", cmd::deactivate),
            (std::vector<step>{{step::deactivate, ""}}));
  EXPECT_TRUE(plan({false, "1.0.0"}, "1.0.0", cmd::deactivate).empty());
  // 1.10 is newer than 1.9 (numeric, not text, comparison).
  EXPECT_EQ(plan({true, "1.9.0"}, "1.10.0", cmd::start).size(), 1u);
  auto down = sdk::plan_lifecycle({true, "2.0.0"}, "1.5.0", cmd::start);
  ASSERT_FALSE(down);
  EXPECT_EQ(billow::errc_of(down.error()), billow_errc::invalid_transition);
  EXPECT_FALSE(sdk::plan_lifecycle({true, "1.0.0"}, "one", cmd::start));
}

class throwing_plugin : public sdk::product {
public:
  caf::expected<void> activate() override {
    throw std::runtime_error("disk on fire");
  }
};

TEST(lifecycle_test, a_throwing_module_becomes_a_module_failure) {
  throwing_plugin p;
  auto res = sdk::run_lifecycle(p, {{sdk::lifecycle_step::activate, ""}});
  ASSERT_FALSE(res);
  EXPECT_EQ(billow::errc_of(res.error()), billow_errc::module_failure);
  EXPECT_NE(billow::detail_of(res.error()).find("disk on fire"),
            std::string::npos);
}

} // namespace
