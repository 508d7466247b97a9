#include <libpq-fe.h>

#include <gtest/gtest.h>

#include "events/errc.hpp"
#include "modules/sdk/loader.hpp"
#include "modules/sdk/product.hpp"
#include "tests/modules/test_helpers.hpp"
#include "tests/support/postgres_server.hpp"

namespace sdk = billow::modules::sdk;
namespace json = boost::json;

namespace {

/// A real libpq connection, as a customer would make.
struct login {
  explicit login(const std::string& conninfo)
    : conn(PQconnectdb(conninfo.c_str())) {}
  ~login() {
    PQfinish(conn);
  }
  bool ok() const {
    return PQstatus(conn) == CONNECTION_OK;
  }
  std::string error() const {
    return PQerrorMessage(conn);
  }
  /// First value of `sql`, or nullopt when the query fails.
  std::optional<std::string> value(const std::string& sql) {
    auto* res = PQexec(conn, sql.c_str());
    std::optional<std::string> out;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
      out = PQgetvalue(res, 0, 0);
    PQclear(res);
    return out;
  }
  PGconn* conn;
};

class postgres_module_test : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    server_ = new billow::test::postgres_server();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    entry_ = sdk::load_module(fs_path());
    ASSERT_TRUE(entry_.loaded()) << entry_.refused->message;
    mod_ = static_cast<sdk::product*>(entry_.instance.get());
    auto box
      = sdk::secret_box::from_config(sdk::secret_box::generate_key_hex());
    ASSERT_TRUE(box);
    box_.emplace(*box);
    sdk::context_options opts;
    opts.manifest = *entry_.manifest;
    opts.module_dir = entry_.dir;
    opts.log = log_;
    opts.secrets = *box_;
    json::object srv{{"name", "pg1"},
                     {"host", server_->host()},
                     {"port", server_->port()},
                     {"admin_user", server_->admin_user()},
                     {"admin_password", box_->seal(server_->admin_password())}};
    opts.config = {{"servers", json::array{srv}}};
    mod_->attach(std::make_shared<sdk::module_context>(opts));
    ASSERT_TRUE(mod_->activate());
  }

  static std::filesystem::path fs_path() {
    return std::filesystem::path{BILLOW_BUILT_MODULES_DIR} / "Product"
      / "postgres";
  }

  caf::expected<void> run(const std::string& job, sdk::service_context& svc) {
    sdk::job_call call{job, {}, svc};
    auto res = mod_->run_job(call);
    svc = *call.service;
    return res;
  }

  std::string password_of(const sdk::service_context& svc) {
    auto sealed = std::string{svc.service_data.at("password").as_string()};
    auto clear = box_->unseal(sealed);
    EXPECT_TRUE(clear);
    return clear ? *clear : "";
  }

  std::string user_conninfo(const sdk::service_context& svc,
                            const std::string& password) {
    auto db = std::string{svc.service_data.at("database").as_string()};
    return server_->conninfo(db, password, db);
  }

  login admin() {
    return login{server_->conninfo(server_->admin_user(),
                                   server_->admin_password(), "postgres")};
  }

  static inline billow::test::postgres_server* server_ = nullptr;
  sdk::scan_entry entry_;
  sdk::product* mod_ = nullptr;
  std::optional<sdk::secret_box> box_;
  std::shared_ptr<billow::test::recording_log> log_
    = std::make_shared<billow::test::recording_log>();
};

TEST_F(postgres_module_test,
       provisions_suspends_resizes_and_terminates_for_real) {
  sdk::service_context svc{
    "7f3c2a10-0000-4000-8000-00000000a001",
    "client-1",
    {{"server", "pg1"}, {"connection_limit", 3}, {"db_prefix", "bt_"}},
    {}};
  // create_job: a role with a sealed password and a database it owns.
  ASSERT_TRUE(run("create_job", svc));
  auto db = std::string{svc.service_data.at("database").as_string()};
  EXPECT_EQ(db, "bt_7f3c2a1000004000800000000000a001");
  auto sealed = std::string{svc.service_data.at("password").as_string()};
  EXPECT_TRUE(sdk::secret_box::is_sealed(sealed));
  auto pw = password_of(svc);
  {
    login user{user_conninfo(svc, pw)};
    ASSERT_TRUE(user.ok()) << user.error();
    EXPECT_EQ(user.value("SELECT current_user"), db);
    EXPECT_EQ(user.value("SELECT pg_get_userbyid(datdba) FROM pg_database "
                         "WHERE datname = current_database()"),
              db);
    EXPECT_TRUE(user.value("CREATE TABLE t(x int); SELECT 1"));
  }
  EXPECT_FALSE(login{user_conninfo(svc, pw + "x")}.ok());
  // Re-running converges: same role, password kept, still logs in.
  ASSERT_TRUE(run("create_job", svc));
  EXPECT_EQ(password_of(svc), pw);
  EXPECT_TRUE(login{user_conninfo(svc, pw)}.ok());

  // suspend_job: login refused and open sessions ended; re-run converges.
  login open_session{user_conninfo(svc, pw)};
  ASSERT_TRUE(open_session.ok());
  ASSERT_TRUE(run("suspend_job", svc));
  ASSERT_TRUE(run("suspend_job", svc));
  login refused{user_conninfo(svc, pw)};
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("not permitted to log in"), std::string::npos)
    << refused.error();
  EXPECT_FALSE(open_session.value("SELECT 1"));

  // unsuspend_job: accepted again; re-run converges.
  ASSERT_TRUE(run("unsuspend_job", svc));
  ASSERT_TRUE(run("unsuspend_job", svc));
  EXPECT_TRUE(login{user_conninfo(svc, pw)}.ok());

  // change_package_job: the new connection limit holds.
  svc.product_data["connection_limit"] = 1;
  ASSERT_TRUE(run("change_package_job", svc));
  ASSERT_TRUE(run("change_package_job", svc));
  auto adm = admin();
  ASSERT_TRUE(adm.ok()) << adm.error();
  EXPECT_EQ(
    adm.value("SELECT rolconnlimit FROM pg_roles WHERE rolname = '" + db + "'"),
    "1");
  {
    login first{user_conninfo(svc, pw)};
    ASSERT_TRUE(first.ok()) << first.error();
    login second{user_conninfo(svc, pw)};
    EXPECT_FALSE(second.ok());
    EXPECT_NE(second.error().find("too many connections"), std::string::npos)
      << second.error();
  }

  // Client area: overview shows the password only to the owner; usage
  // reports the database size.
  sdk::client_call owner{svc, "client-1", true, {}};
  sdk::client_call other{svc, "client-2", false, {}};
  auto page = mod_->render_client_tab("overview", owner);
  ASSERT_TRUE(page) << billow::detail_of(page.error());
  EXPECT_NE(page->find(pw), std::string::npos);
  EXPECT_NE(page->find(std::to_string(server_->port())), std::string::npos);
  auto hidden = mod_->render_client_tab("overview", other);
  ASSERT_TRUE(hidden);
  EXPECT_EQ(hidden->find(pw), std::string::npos);
  EXPECT_NE(hidden->find("Only the service"), std::string::npos);
  auto usage = mod_->call_client_tab_variables("usage", owner);
  ASSERT_TRUE(usage) << billow::detail_of(usage.error());
  EXPECT_GT(usage->at("size_bytes").as_int64(), 1000);
  EXPECT_TRUE(mod_->render_client_tab("usage", owner));

  // termination_job: database and role gone; re-run converges.
  ASSERT_TRUE(run("termination_job", svc));
  ASSERT_TRUE(run("termination_job", svc));
  EXPECT_EQ(
    adm.value("SELECT count(*) FROM pg_database WHERE datname = '" + db + "'"),
    "0");
  EXPECT_EQ(
    adm.value("SELECT count(*) FROM pg_roles WHERE rolname = '" + db + "'"),
    "0");
  EXPECT_FALSE(login{user_conninfo(svc, pw)}.ok());
  // Suspending a terminated service is a clear not_found, not a crash.
  auto late = run("suspend_job", svc);
  ASSERT_FALSE(late);
  EXPECT_EQ(billow::errc_of(late.error()), billow::billow_errc::not_found);
}

TEST_F(postgres_module_test,
       create_after_a_crash_converges_with_a_fresh_password) {
  sdk::service_context svc{
    "crash-0001", "c", {{"server", "pg1"}, {"db_prefix", "bt_"}}, {}};
  auto lost = svc;
  // The first attempt created everything, but its service_data was never
  // recorded (the worker crashed): the retry starts from empty data.
  ASSERT_TRUE(run("create_job", lost));
  auto old_pw = password_of(lost);
  ASSERT_TRUE(run("create_job", svc));
  auto pw = password_of(svc);
  EXPECT_TRUE(login{user_conninfo(svc, pw)}.ok());
  if (pw != old_pw) {
    EXPECT_FALSE(login{user_conninfo(svc, old_pw)}.ok());
  }
  ASSERT_TRUE(run("termination_job", svc));
}

TEST_F(postgres_module_test,
       bad_product_data_and_unknown_server_are_clear_errors) {
  sdk::service_context svc{
    "bad-1", "c", {{"server", "pg1"}, {"connection_limit", "lots"}}, {}};
  auto res = run("create_job", svc);
  ASSERT_FALSE(res);
  EXPECT_EQ(billow::errc_of(res.error()),
            billow::billow_errc::invalid_argument);
  EXPECT_NE(billow::detail_of(res.error()).find("connection_limit"),
            std::string::npos);
  svc.product_data = {{"server", "nowhere"}};
  res = run("create_job", svc);
  ASSERT_FALSE(res);
  EXPECT_EQ(billow::errc_of(res.error()), billow::billow_errc::not_found);
  svc.product_data = {{"server", "pg1"}, {"db_prefix", "Bad-Prefix"}};
  EXPECT_FALSE(run("create_job", svc));
  // Each failure was logged as a module error.
  auto records = log_->records();
  EXPECT_GE(std::count_if(records.begin(), records.end(),
                          [](const auto& r) {
                            return r.level == sdk::log_level::error;
                          }),
            3);
}

TEST_F(postgres_module_test, declares_tabs_permissions_and_admin_routes) {
  auto tabs = mod_->get_client_area_menu_config();
  ASSERT_EQ(tabs.size(), 2u);
  EXPECT_EQ(tabs[0].key, "overview");
  EXPECT_EQ(tabs[1].template_name, "client_area.usage");
  EXPECT_EQ(mod_->admin_permissions().at(0).key, "postgres-servers");
  sdk::admin_call call{"a", {"postgres-servers"}, false, {}};
  auto servers = mod_->call_admin_route(sdk::route_kind::api, "GET", "servers",
                                        call);
  ASSERT_TRUE(servers);
  const auto& list = servers->as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].as_object().at("name"), "pg1");
  EXPECT_FALSE(list[0].as_object().contains("admin_password"));
}

} // namespace
