// Modules as an operator manages them: discovered and refused modules
// recorded in the log, activation and deactivation over HTTP and on the
// command line's catalog, failures recorded with their reason.

#include <fstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "modules/host/module_catalog.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using billow::test::http_connection;

namespace {

/// A store in a temp dir plus a catalog over the built-in modules.
struct catalog_env {
  billow::test::temp_dir dir{"catalog"};
  std::unique_ptr<billow::events::event_store> store;
  std::unique_ptr<billow::modules::module_catalog> catalog;

  explicit catalog_env(std::filesystem::path modules
                       = BILLOW_BUILT_MODULES_DIR) {
    billow::events::store_options opts;
    opts.dir = dir.sub("log");
    store = std::move(*billow::events::event_store::open(std::move(opts)));
    reopen(std::move(modules));
  }

  void reopen(std::filesystem::path modules) {
    auto* raw = store.get();
    catalog = std::make_unique<billow::modules::module_catalog>(
      *store,
      [raw](const std::string& s, billow::events::expected_version v,
            std::vector<billow::events::new_event> evs) {
        return raw->append(s, v, std::move(evs));
      },
      std::move(modules));
  }

  std::vector<std::string> types_of(const std::string& stream) {
    std::vector<std::string> out;
    auto evs = store->read_stream(stream, 1,
                                  billow::events::read_direction::forward, 100);
    for (const auto& ev : *evs)
      out.push_back(ev.type);
    return out;
  }
};

} // namespace

TEST(module_catalog_test,
     discovery_is_recorded_once_and_rescans_write_nothing) {
  catalog_env env;
  auto found = env.catalog->scan("system");
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 2u);
  auto after_first = env.store->last_position();
  EXPECT_EQ(env.types_of("module-product-postgres"),
            (std::vector<std::string>{"module.discovered"}));
  env.reopen(BILLOW_BUILT_MODULES_DIR);
  ASSERT_TRUE(env.catalog->scan("system"));
  EXPECT_EQ(env.store->last_position(), after_first);
  for (const auto& m : env.catalog->list())
    EXPECT_EQ(m.status, "inactive") << m.name;
}

TEST(module_catalog_test, activate_and_deactivate_are_recorded_and_idempotent) {
  catalog_env env;
  ASSERT_TRUE(env.catalog->scan("system"));
  auto on = env.catalog->activate("Notification", "smtp", "admin:a1");
  ASSERT_TRUE(on) << billow::detail_of(on.error());
  EXPECT_EQ(on->status, "active");
  EXPECT_EQ(on->recorded_version, "1.0.0");
  EXPECT_NE(env.catalog->active_instance("Notification", "smtp"), nullptr);
  ASSERT_TRUE(env.catalog->activate("Notification", "smtp", "admin:a1"));
  auto off = env.catalog->deactivate("Notification", "smtp", "admin:a2");
  ASSERT_TRUE(off);
  EXPECT_EQ(off->status, "inactive");
  EXPECT_EQ(env.catalog->active_instance("Notification", "smtp"), nullptr);
  EXPECT_EQ(env.types_of("module-notification-smtp"),
            (std::vector<std::string>{"module.discovered", "module.activated",
                                      "module.deactivated"}));
  // The state survives a restart: it is folded from the log.
  ASSERT_TRUE(env.catalog->activate("Notification", "smtp", "admin:a1"));
  env.reopen(BILLOW_BUILT_MODULES_DIR);
  ASSERT_TRUE(env.catalog->scan("system"));
  EXPECT_NE(env.catalog->active_instance("Notification", "smtp"), nullptr);
}

TEST(module_catalog_test,
     failed_activation_is_recorded_and_leaves_it_inactive) {
  catalog_env env;
  ASSERT_TRUE(env.catalog->scan("system"));
  auto res = env.catalog->activate("Product", "postgres", "admin:a1");
  ASSERT_FALSE(res);
  EXPECT_EQ(billow::errc_of(res.error()), billow::billow_errc::module_failure);
  auto list = env.catalog->list();
  auto pg = std::find_if(list.begin(), list.end(), [](const auto& m) {
    return m.name == "postgres";
  });
  ASSERT_NE(pg, list.end());
  EXPECT_EQ(pg->status, "inactive");
  EXPECT_NE(pg->error.find("servers"), std::string::npos) << pg->error;
  EXPECT_EQ(env.types_of("module-product-postgres").back(),
            "module.activation_failed");
}

TEST(module_catalog_test, refused_and_unknown_modules_answer_clear_errors) {
  billow::test::temp_dir mods{"mods"};
  auto bad = mods.path() / "Product" / "broken";
  std::filesystem::create_directories(bad);
  std::ofstream{bad / "module.json"} << "{ not json";
  catalog_env env{mods.path()};
  auto found = env.catalog->scan("system");
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().status, "refused");
  EXPECT_FALSE(found->front().error.empty());
  EXPECT_EQ(env.types_of("module-product-broken"),
            (std::vector<std::string>{"module.refused"}));
  auto res = env.catalog->activate("Product", "broken", "admin:a1");
  ASSERT_FALSE(res);
  EXPECT_EQ(billow::errc_of(res.error()),
            billow::billow_errc::invalid_transition);
  auto unknown = env.catalog->activate("Product", "nope", "admin:a1");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(billow::errc_of(unknown.error()), billow::billow_errc::not_found);
}

TEST(module_routes_test, operators_list_and_activate_modules_over_http) {
  billow::test::temp_dir dir{"modhttp"};
  auto data = dir.path() / "data";
  {
    std::filesystem::create_directories(data);
    auto store = billow::api::open_data_dir(data);
    ASSERT_TRUE(billow::api::create_admin(**store, "owner@example.com",
                                          "owner-password", "owner"));
    ASSERT_TRUE(billow::api::create_admin(**store, "ro@example.com",
                                          "reader-password", "read_only"));
  }
  billow::api::application_options opts;
  opts.http.port = 0;
  opts.data_dir = data;
  opts.modules_dir = BILLOW_BUILT_MODULES_DIR;
  billow::api::application app{opts};
  ASSERT_FALSE(app.start());
  http_connection conn{app.port()};
  auto token = [&](const std::string& email, const std::string& pw) {
    auto r = conn.request("POST", "/api/v1/auth/admin/token",
                          boost::json::serialize(boost::json::object{
                            {"email", email}, {"password", pw}}));
    return "Bearer "
      + std::string{boost::json::parse(r.body).at("token").as_string()};
  };
  auto owner = token("owner@example.com", "owner-password");
  auto ro = token("ro@example.com", "reader-password");
  auto list = conn.request("GET", "/api/v1/admin/modules", {},
                           {{"Authorization", ro}});
  ASSERT_EQ(list.status, 200u) << list.body;
  EXPECT_EQ(boost::json::parse(list.body).at("items").as_array().size(), 2u);
  // A read-only admin may look but not change.
  EXPECT_EQ(conn
              .request("POST",
                       "/api/v1/admin/modules/Notification/smtp/activate", {},
                       {{"Authorization", ro}})
              .status,
            403u);
  auto on = conn.request("POST",
                         "/api/v1/admin/modules/Notification/smtp/activate", {},
                         {{"Authorization", owner}});
  ASSERT_EQ(on.status, 200u) << on.body;
  EXPECT_EQ(boost::json::parse(on.body).at("status").as_string(), "active");
  auto failed = conn.request("POST",
                             "/api/v1/admin/modules/Product/postgres/activate",
                             {}, {{"Authorization", owner}});
  EXPECT_EQ(failed.status, 422u) << failed.body;
  EXPECT_EQ(failed.header("content-type"), "application/problem+json");
  EXPECT_EQ(conn
              .request("POST", "/api/v1/admin/modules/Product/nope/activate",
                       {}, {{"Authorization", owner}})
              .status,
            404u);
  // The audit trail names who activated it.
  auto events = conn.request("GET",
                             "/api/v1/admin/events?type=module.activated", {},
                             {{"Authorization", owner}});
  auto items = boost::json::parse(events.body).at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("stream").as_string(), "module-notification-smtp");
  EXPECT_EQ(std::string{items[0].at("actor").as_string()}.substr(0, 6),
            "admin:");
}
