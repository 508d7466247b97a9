// The operator's story, end to end over HTTP: a real billow application, a
// real PostgreSQL cluster, the built-in postgres module. Configure and
// activate the module, create a client and a product, order and provision a
// service, log into the new database with the credentials the client area
// shows its owner, suspend (login refused), unsuspend
// (accepted), change package (new connection limit), terminate (database
// gone), then read the audit history and verify the chain.

#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "events/event_store.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;
namespace json = boost::json;
using billow::test::http_connection;
using billow::test::http_reply;

namespace {

/// A libpq connection that tells whether it got in.
struct pg_login {
  explicit pg_login(const std::string& conninfo)
    : conn(PQconnectdb(conninfo.c_str())) {}
  ~pg_login() {
    PQfinish(conn);
  }
  bool ok() const {
    return PQstatus(conn) == CONNECTION_OK;
  }
  std::string scalar(const std::string& sql) {
    auto* res = PQexec(conn, sql.c_str());
    std::string out;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
      out = PQgetvalue(res, 0, 0);
    PQclear(res);
    return out;
  }
  PGconn* conn;
};

class e2e_test : public ::testing::Test {
protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    std::filesystem::create_directories(data_);
    {
      auto store = billow::api::open_data_dir(data_);
      auto owner = billow::api::create_admin(**store, "owner@example.com",
                                             "owner-password", "owner");
      ASSERT_TRUE(owner);
      owner_actor_ = "admin:" + *owner;
      ASSERT_TRUE(billow::api::create_admin(**store, "ro@example.com",
                                            "reader-password", "read_only"));
    }
    billow::api::application_options opts;
    opts.http.port = 0;
    opts.data_dir = data_;
    opts.modules_dir = BILLOW_BUILT_MODULES_DIR;
    app_ = std::make_unique<billow::api::application>(opts);
    ASSERT_FALSE(app_->start());
    conn_ = std::make_unique<http_connection>(app_->port(), 30s);
    owner_ = login("owner@example.com", "owner-password");
    reader_ = login("ro@example.com", "reader-password");
  }

  std::string login(const std::string& email, const std::string& password) {
    auto r = conn_->request(
      "POST", "/api/v1/auth/admin/token",
      json::serialize(json::object{{"email", email}, {"password", password}}));
    EXPECT_EQ(r.status, 200u) << r.body;
    return "Bearer " + std::string{json::parse(r.body).at("token").as_string()};
  }

  http_reply
  call(const std::string& method, const std::string& target,
       const json::object& body = {}, const std::string& token = {},
       std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Authorization", token.empty() ? owner_ : token);
    return conn_->request(
      method, target, method == "GET" ? std::string{} : json::serialize(body),
      headers);
  }

  static json::object doc(const http_reply& r) {
    return json::parse(r.body).as_object();
  }

  /// Polls the service until no operation is pending (bounded).
  json::object settle(const std::string& id) {
    json::object svc;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      svc = doc(call("GET", "/api/v1/admin/services/" + id));
      if (svc.at("pending_operation").is_null())
        return svc;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "service " << id
                  << " still busy: " << json::serialize(svc);
    return svc;
  }

  billow::test::temp_dir dir_{"e2e"};
  std::filesystem::path data_;
  std::unique_ptr<billow::api::application> app_;
  std::unique_ptr<http_connection> conn_;
  std::string owner_, reader_, owner_actor_;
};

} // namespace

TEST_F(e2e_test,
       operator_provisions_suspends_and_terminates_a_postgres_database) {
  billow::test::postgres_server pg;
  // The module: configure its server (the password is sealed on the way in)
  // and activate it.
  auto cfg = call("PUT", "/api/v1/admin/modules/Product/postgres/config",
                  json::object{{"servers",
                                json::array{json::object{
                                  {"name", "main"},
                                  {"host", pg.host()},
                                  {"port", pg.port()},
                                  {"admin_user", pg.admin_user()},
                                  {"admin_password", pg.admin_password()}}}}});
  ASSERT_EQ(cfg.status, 200u) << cfg.body;
  auto configured
    = doc(call("GET", "/api/v1/admin/events?type=module.configured"));
  auto stored = json::serialize(configured.at("items").as_array());
  EXPECT_EQ(stored.find(pg.admin_password()), std::string::npos)
    << "the admin password reached the log in clear";
  // Read back: everything but the secret, which is write-only.
  auto config = call("GET", "/api/v1/admin/modules/Product/postgres/config");
  ASSERT_EQ(config.status, 200u) << config.body;
  auto config_doc = doc(config);
  const auto& server = config_doc.at("servers").as_array().at(0);
  EXPECT_EQ(server.at("admin_user").as_string(), pg.admin_user());
  EXPECT_EQ(server.at("admin_password").as_string(), "[redacted]");
  EXPECT_EQ(config.body.find("sealed:"), std::string::npos) << config.body;
  EXPECT_EQ(call("GET", "/api/v1/admin/modules/Product/nosuch/config").status,
            404u);
  auto on = call("POST", "/api/v1/admin/modules/Product/postgres/activate");
  ASSERT_EQ(on.status, 200u) << on.body;

  // A client, a product on the module, a service provisioned now.
  auto client = call("POST", "/api/v1/admin/clients",
                     json::object{{"name", "Acme"},
                                  {"email", "ops@acme.test"},
                                  {"currency", "EUR"},
                                  {"password", "acme-client-password"}});
  ASSERT_EQ(client.status, 201u) << client.body;
  auto client_id = std::string{doc(client).at("id").as_string()};
  auto product_for = [&](int limit) {
    auto r = call(
      "POST", "/api/v1/admin/products",
      json::object{
        {"name", "DB " + std::to_string(limit)},
        {"module", json::object{{"type", "Product"}, {"name", "postgres"}}},
        {"product_data",
         json::object{{"server", "main"},
                      {"connection_limit", limit},
                      {"db_prefix", "bt"}}},
        {"prices",
         json::array{json::object{
           {"currency", "EUR"}, {"period", "monthly"}, {"amount", "9.90"}}}}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return std::string{doc(r).at("id").as_string()};
  };
  auto small = product_for(5);
  auto large = product_for(2);
  auto ordered = call("POST", "/api/v1/admin/services",
                      json::object{{"client_id", client_id},
                                   {"product_id", small},
                                   {"period", "monthly"},
                                   {"provision", "now"}});
  ASSERT_EQ(ordered.status, 201u) << ordered.body;
  auto id = std::string{doc(ordered).at("id").as_string()};
  auto svc = settle(id);
  ASSERT_EQ(svc.at("status").as_string(), "active") << json::serialize(svc);
  ASSERT_EQ(svc.at("provision_status").as_string(), "completed");

  // The client logs into the client area and reads the database's
  // credentials from the overview tab; they log into the new database.
  auto client_login = conn_->request(
    "POST", "/api/v1/auth/client/token",
    json::serialize(json::object{{"email", "ops@acme.test"},
                                 {"password", "acme-client-password"}}));
  ASSERT_EQ(client_login.status, 200u) << client_login.body;
  auto client_token = "Bearer "
    + std::string{doc(client_login).at("token").as_string()};
  auto overview = call("GET",
                       "/api/v1/client/services/" + id + "/tabs/overview", {},
                       client_token);
  ASSERT_EQ(overview.status, 200u) << overview.body;
  auto shown = doc(overview).at("variables").as_object();
  auto database = std::string{shown.at("database").as_string()};
  auto user = std::string{shown.at("user").as_string()};
  auto password = std::string{shown.at("password").as_string()};
  auto conninfo = pg.conninfo(user, password, database);
  EXPECT_TRUE(pg_login{conninfo}.ok())
    << PQerrorMessage(pg_login{conninfo}.conn);
  // A read-only admin sees the service but not the sealed password.
  auto seen = doc(call("GET", "/api/v1/admin/services/" + id, {}, reader_));
  EXPECT_EQ(seen.at("service_data").at("password").as_string(), "[redacted]");
  // ... and may not suspend it; the log does not move.
  auto before = doc(call("GET", "/api/v1/admin/events?after=0&limit=1000"))
                  .at("items")
                  .as_array()
                  .size();
  EXPECT_EQ(call("POST", "/api/v1/admin/services/" + id + "/suspend",
                 json::object{{"reason", "x"}}, reader_)
              .status,
            403u);
  EXPECT_EQ(doc(call("GET", "/api/v1/admin/events?after=0&limit=1000"))
              .at("items")
              .as_array()
              .size(),
            before);

  // Suspend: login refused. Unsuspend: accepted again.
  auto suspended = call("POST", "/api/v1/admin/services/" + id + "/suspend",
                        json::object{{"reason", "invoice overdue"}});
  ASSERT_EQ(suspended.status, 202u) << suspended.body;
  EXPECT_EQ(settle(id).at("status").as_string(), "suspended");
  auto suspended_events
    = doc(call("GET", "/api/v1/admin/streams/service-" + id))
        .at("items")
        .as_array();
  auto suspended_position = suspended_events.back().at("position").as_int64();
  EXPECT_FALSE(pg_login{conninfo}.ok());
  EXPECT_EQ(call("POST", "/api/v1/admin/services/" + id + "/suspend").status,
            409u);
  ASSERT_EQ(call("POST", "/api/v1/admin/services/" + id + "/unsuspend",
                 json::object{{"reason", "paid"}})
              .status,
            202u);
  EXPECT_EQ(settle(id).at("status").as_string(), "active");
  EXPECT_TRUE(pg_login{conninfo}.ok());

  // Change package: the new product's connection limit applies.
  ASSERT_EQ(call("POST", "/api/v1/admin/services/" + id + "/change_package",
                 json::object{{"product_id", large}})
              .status,
            202u);
  auto changed = settle(id);
  EXPECT_EQ(changed.at("product_id").as_string(), large);
  pg_login admin{pg.conninfo()};
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin.scalar("SELECT rolconnlimit FROM pg_roles WHERE rolname = '"
                         + user + "'"),
            "2");

  // Terminate: the database is gone.
  ASSERT_EQ(call("POST", "/api/v1/admin/services/" + id + "/terminate",
                 json::object{{"reason", "contract ended"}})
              .status,
            202u);
  EXPECT_EQ(settle(id).at("status").as_string(), "terminated");
  EXPECT_EQ(admin.scalar("SELECT count(*) FROM pg_database WHERE datname = '"
                         + database + "'"),
            "0");

  // The audit history has every step in order, with who and why.
  auto history
    = doc(call("GET",
               "/api/v1/admin/events?stream=service-" + id + "&limit=1000"))
        .at("items")
        .as_array();
  std::vector<std::string> types;
  for (const auto& ev : history)
    types.emplace_back(ev.at("type").as_string());
  auto find = [&](const std::string& type, size_t from = 0) {
    auto i = std::find(types.begin() + static_cast<std::ptrdiff_t>(from),
                       types.end(), type);
    return static_cast<size_t>(i - types.begin());
  };
  auto provisioned = find("service.provisioned");
  auto suspended_at = find("service.suspended", provisioned);
  auto unsuspended_at = find("service.unsuspended", suspended_at);
  auto changed_at = find("service.package_changed", unsuspended_at);
  auto terminated_at = find("service.terminated", changed_at);
  EXPECT_LT(provisioned, suspended_at);
  EXPECT_LT(terminated_at, types.size()) << json::serialize(history);
  bool saw_reason = false;
  for (const auto& ev : history) {
    if (ev.at("type").as_string() == "service.suspend_requested") {
      EXPECT_EQ(ev.at("actor").as_string(), owner_actor_);
      saw_reason = json::serialize(ev.at("payload")).find("invoice overdue")
        != std::string::npos;
    }
  }
  EXPECT_TRUE(saw_reason) << json::serialize(history);
  // The service as it was right after the suspend, replayed from the log.
  auto then = call("GET",
                   "/api/v1/admin/streams/service-" + id
                     + "/state?at=" + std::to_string(suspended_position));
  ASSERT_EQ(then.status, 200u) << then.body;
  EXPECT_EQ(doc(then).at("state").at("status"), "suspended") << then.body;
  EXPECT_EQ(doc(then).at("position").as_int64(), suspended_position);
  // Right after the suspend nothing was pending any more, as GET shows it.
  EXPECT_TRUE(doc(then).at("state").at("pending_operation").is_null())
    << then.body;
  EXPECT_EQ(doc(then).at("state").at("module"), "Product/postgres");
  auto now = call("GET", "/api/v1/admin/streams/service-" + id + "/state");
  ASSERT_EQ(now.status, 200u) << now.body;
  EXPECT_EQ(doc(now).at("state").at("status"), "terminated") << now.body;
  EXPECT_EQ(
    call("GET", "/api/v1/admin/streams/service-" + id + "/state?at=1").status,
    404u);
  EXPECT_EQ(call("GET",
                 "/api/v1/admin/streams/service-" + id + "/state?at=soon")
              .status,
            422u);
  auto verify = doc(call("GET", "/api/v1/admin/audit/verify"));
  EXPECT_TRUE(verify.at("ok").as_bool());
}

TEST_F(e2e_test, bad_input_gets_4xx_problems_and_changes_nothing) {
  auto position = [&] {
    return doc(call("GET", "/api/v1/admin/audit/verify"))
      .at("checked")
      .as_int64();
  };
  auto start = position();
  struct bad {
    std::string method, target, body;
    unsigned status;
  };
  std::string deep = std::string(200, '[') + std::string(200, ']');
  for (
    const auto& b : std::vector<bad>{
      {"POST", "/api/v1/admin/clients", "{\"name\":", 400},
      {"POST", "/api/v1/admin/clients", deep, 400},
      {"POST", "/api/v1/admin/clients", R"({"name": 5, "email": "x"})", 422},
      {"POST", "/api/v1/admin/clients", R"([1,2])", 422},
      {"POST", "/api/v1/admin/products",
       R"({"name":"x","module":{"type":"Product","name":"nope"}})", 422},
      {"POST", "/api/v1/admin/products",
       R"({"name":"x","module":{"type":"Product","name":"../etc"}})", 422},
      {"POST", "/api/v1/admin/products",
       R"({"name":"x","prices":[{"currency":"EUR","period":"weekly","amount":9.9}]})",
       422},
      {"POST", "/api/v1/admin/services",
       R"({"client_id":"00000000-0000-4000-8000-000000000000","product_id":"00000000-0000-4000-8000-000000000001"})",
       422},
      {"GET", "/api/v1/admin/services/not-a-uuid", "", 404},
      {"GET", "/api/v1/admin/services/00000000-0000-4000-8000-000000000000", "",
       404},
      {"POST",
       "/api/v1/admin/services/00000000-0000-4000-8000-000000000000/suspend",
       "", 404},
      {"POST",
       "/api/v1/admin/services/00000000-0000-4000-8000-000000000000/explode",
       "", 404},
      {"POST", "/api/v1/admin/modules/Product/..%2F..%2Fetc/activate", "", 404},
      {"GET", "/api/v1/admin/jobs/00000000-0000-4000-8000-000000000000", "",
       404},
      {"POST", "/api/v1/admin/clock/advance", R"({"seconds":10})", 409},
    }) {
    auto r = conn_->request(b.method, b.target, b.body,
                            {{"Authorization", owner_}});
    EXPECT_EQ(r.status, b.status)
      << b.method << " " << b.target << " " << b.body << " -> " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << b.target;
  }
  // No token, and an oversized body.
  EXPECT_EQ(conn_->request("POST", "/api/v1/admin/clients", "{}").status, 401u);
  http_connection big{app_->port()};
  EXPECT_EQ(big
              .request("POST", "/api/v1/admin/clients",
                       std::string(2 << 20, 'x'), {{"Authorization", owner_}})
              .status,
            413u);
  EXPECT_EQ(position(), start) << "bad input moved the log";
  EXPECT_EQ(billow::test::http_get(app_->port(), "/healthz").status, 200u);
}

TEST_F(e2e_test, idempotency_key_gives_the_same_answer_and_one_set_of_events) {
  auto create = [&] {
    return call("POST", "/api/v1/admin/clients",
                json::object{{"name", "Once"},
                             {"email", "once@example.com"},
                             {"currency", "EUR"}},
                {}, {{"Idempotency-Key", "order-42"}});
  };
  auto first = create();
  auto second = create();
  ASSERT_EQ(first.status, 201u) << first.body;
  EXPECT_EQ(second.status, 201u) << second.body;
  EXPECT_EQ(doc(first).at("id"), doc(second).at("id"));
  auto created = doc(call("GET", "/api/v1/admin/events?type=client.created"))
                   .at("items")
                   .as_array();
  EXPECT_EQ(created.size(), 1u);
}
