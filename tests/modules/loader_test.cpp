#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "events/errc.hpp"
#include "modules/sdk/loader.hpp"
#include "modules/sdk/plugin.hpp"
#include "tests/modules/test_helpers.hpp"
#include "tests/support/temp_dir.hpp"

namespace sdk = billow::modules::sdk;
namespace fs = std::filesystem;

namespace {

const fs::path built = BILLOW_BUILT_MODULES_DIR;
const fs::path fixtures = BILLOW_TEST_FIXTURES_DIR;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream{p} << text;
}

void copy_module(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

TEST(loader_test, built_in_modules_directory_holds_postgres_and_smtp) {
  auto entries = sdk::scan_modules(built);
  std::map<std::string, const sdk::scan_entry*> by_name;
  for (const auto& e : entries) {
    EXPECT_FALSE(e.refused) << e.dir << ": " << e.refused->message;
    by_name[e.folder_name] = &e;
  }
  ASSERT_TRUE(by_name.contains("postgres"));
  ASSERT_TRUE(by_name.contains("smtp"));
  EXPECT_TRUE(by_name["postgres"]->loaded());
  EXPECT_EQ(by_name["postgres"]->instance->type(), sdk::module_type::product);
  EXPECT_EQ(by_name["smtp"]->instance->type(), sdk::module_type::notification);
  EXPECT_EQ(by_name["smtp"]->manifest->version, "1.0.0");
}

TEST(loader_test,
     each_bad_folder_is_refused_with_its_reason_and_good_ones_load) {
  billow::test::temp_dir root;
  const auto& r = root.path();
  // Good: the hello example and the built postgres module.
  copy_module(fixtures / "Plugin/hello", r / "Plugin/hello");
  copy_module(built / "Product/postgres", r / "Product/postgres");
  // Folder name differs from module.json's name.
  copy_module(built / "Product/postgres", r / "Product/pgsql");
  // Sits under the wrong type folder.
  copy_module(fixtures / "Plugin/hello", r / "Payment/hello");
  // module.json asks for another SDK major.
  copy_module(fixtures / "Plugin/hello", r / "Plugin/future");
  write(r / "Plugin/future/module.json",
        R"({"name":"future","type":"Plugin","version":"1.0.0",)"
        R"("sdk_version":"2.0"})");
  // The shared object itself was built for SDK 99.
  copy_module(fixtures / "Plugin/sdk99", r / "Plugin/sdk99");
  // Unknown type in module.json, and an unknown type folder.
  write(r / "Plugin/widget/module.json",
        R"({"name":"widget","type":"Widget","version":"1.0.0",)"
        R"("sdk_version":"1.0"})");
  write(r / "Widgets/gizmo/module.json",
        R"({"name":"gizmo","type":"Plugin","version":"1.0.0",)"
        R"("sdk_version":"1.0"})");
  // A shared object that will not load.
  write(r / "Plugin/broken/module.json",
        R"({"name":"broken","type":"Plugin","version":"1.0.0",)"
        R"("sdk_version":"1.0"})");
  write(r / "Plugin/broken/libbroken.so", "this is not an ELF file");
  // No shared object at all.
  write(r / "Plugin/empty/module.json",
        R"({"name":"empty","type":"Plugin","version":"1.0.0",)"
        R"("sdk_version":"1.0"})");
  // module.json missing, and module.json that is not JSON.
  fs::create_directories(r / "Plugin/nomanifest");
  write(r / "Plugin/garbled/module.json", "{\"name\": ");
  // A build-system folder under a non-type folder is not a module.
  fs::create_directories(r / "sdk/CMakeFiles");

  auto entries = sdk::scan_modules(r);
  std::map<std::string, const sdk::scan_entry*> by_dir;
  for (const auto& e : entries)
    by_dir[e.type_folder + "/" + e.folder_name] = &e;
  EXPECT_FALSE(by_dir.contains("sdk/CMakeFiles"));
  auto reason = [&](const std::string& key) -> std::string {
    auto it = by_dir.find(key);
    if (it == by_dir.end())
      return "not scanned";
    if (!it->second->refused)
      return "loaded";
    EXPECT_FALSE(it->second->refused->message.empty());
    EXPECT_FALSE(it->second->loaded());
    return sdk::to_string(it->second->refused->reason);
  };
  EXPECT_EQ(reason("Plugin/hello"), "loaded");
  EXPECT_EQ(reason("Product/postgres"), "loaded");
  EXPECT_EQ(reason("Product/pgsql"), "name_mismatch");
  EXPECT_EQ(reason("Payment/hello"), "type_mismatch");
  EXPECT_EQ(reason("Plugin/future"), "sdk_mismatch");
  EXPECT_EQ(reason("Plugin/sdk99"), "sdk_mismatch");
  EXPECT_EQ(reason("Plugin/widget"), "unknown_type");
  EXPECT_EQ(reason("Widgets/gizmo"), "unknown_type");
  EXPECT_EQ(reason("Plugin/broken"), "shared_object_unloadable");
  EXPECT_EQ(reason("Plugin/empty"), "shared_object_missing");
  EXPECT_EQ(reason("Plugin/nomanifest"), "manifest_missing");
  EXPECT_EQ(reason("Plugin/garbled"), "manifest_invalid");
  EXPECT_EQ(entries.size(), 12u);
  EXPECT_NE(by_dir["Plugin/sdk99"]->refused->message.find("99"),
            std::string::npos);
  EXPECT_NE(by_dir["Product/pgsql"]->refused->message.find("pgsql"),
            std::string::npos);
  // The messages quote the entry and its manifest: they must be built before
  // the entry is moved into the result.
  EXPECT_NE(by_dir["Product/pgsql"]->refused->message.find("'postgres'"),
            std::string::npos);
  EXPECT_NE(by_dir["Payment/hello"]->refused->message.find("type Plugin"),
            std::string::npos);
  EXPECT_NE(by_dir["Payment/hello"]->refused->message.find("under Payment/"),
            std::string::npos);
  EXPECT_NE(by_dir["Widgets/gizmo"]->refused->message.find("'Widgets'"),
            std::string::npos);
}

TEST(loader_test,
     loaded_example_module_dispatches_admin_routes_jobs_and_views) {
  auto e = sdk::load_module(fixtures / "Plugin/hello");
  ASSERT_TRUE(e.loaded()) << e.refused->message;
  auto log = std::make_shared<billow::test::recording_log>();
  sdk::context_options opts;
  opts.manifest = *e.manifest;
  opts.module_dir = e.dir;
  opts.log = log;
  e.instance->attach(std::make_shared<sdk::module_context>(opts));
  sdk::admin_call allowed{
    "admin-1", {"hello-view"}, false, {{"name", "<Ann>"}}};
  auto page = e.instance->call_admin_route(sdk::route_kind::web, "GET", "/page",
                                           allowed);
  ASSERT_TRUE(page) << billow::detail_of(page.error());
  EXPECT_EQ(page->as_string(), "<p>Hello, &lt;Ann&gt;!</p>\n");
  sdk::admin_call denied{"admin-2", {"other"}, false, {}};
  auto refused = e.instance->call_admin_route(sdk::route_kind::web, "get",
                                              "page", denied);
  ASSERT_FALSE(refused);
  EXPECT_EQ(billow::errc_of(refused.error()),
            billow::billow_errc::permission_denied);
  EXPECT_EQ(
    billow::errc_of(
      e.instance->call_admin_route(sdk::route_kind::api, "get", "page", allowed)
        .error()),
    billow::billow_errc::not_found);
  sdk::job_call job{"greet_job", {{"who", "ops"}}, std::nullopt};
  ASSERT_TRUE(e.instance->run_job(job));
  ASSERT_EQ(log->records().size(), 1u);
  EXPECT_EQ(log->records()[0].action, "greet_job");
  auto* hello = static_cast<sdk::plugin*>(e.instance.get());
  ASSERT_EQ(hello->schedule().size(), 1u);
  EXPECT_EQ(hello->schedule()[0].method, "greet_job");
}

} // namespace
