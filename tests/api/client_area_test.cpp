// The client area over HTTP: client logins and tokens, a client's own
// services and their module tabs and actions (the test-only testkit module
// and the real postgres module against a throwaway PostgreSQL server).

#include <libpq-fe.h>

#include "tests/api/client_fixture.hpp"
#include "tests/support/postgres_server.hpp"

namespace json = boost::json;
using billow::test::client_fixture;
using billow::test::http_reply;

namespace {

class client_area_test : public client_fixture {};

void expect_problem(const http_reply& r, unsigned status,
                    const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json") << what;
}

} // namespace

TEST_F(client_area_test,
       client_login_issues_tokens_that_only_open_the_client_area) {
  auto a = make_client("a@acme.test", "client-a-password");
  auto without = make_client("nologin@acme.test", "");
  // The password's hash is in the credential store, not in the log: the
  // event says only whether the client has a login.
  auto created = call("GET", "/api/v1/admin/events?type=client.created");
  ASSERT_EQ(created.status, 200u);
  EXPECT_EQ(created.body.find("client-a-password"), std::string::npos);
  EXPECT_EQ(created.body.find("argon2"), std::string::npos) << created.body;
  int logins = 0;
  auto created_doc = doc(created);
  for (const auto& ev : created_doc.at("items").as_array())
    logins += ev.at("payload").at("login").as_bool() ? 1 : 0;
  EXPECT_EQ(logins, 1) << created.body;
  auto shown = call("GET", "/api/v1/admin/clients/" + a);
  ASSERT_EQ(shown.status, 200u);
  EXPECT_FALSE(doc(shown).contains("password_hash")) << shown.body;
  EXPECT_EQ(text(shown, "email"), "a@acme.test") << shown.body;

  // Good login (email case does not matter); bad ones are 401.
  auto good = login_reply("client", "A@Acme.test", "client-a-password");
  ASSERT_EQ(good.status, 200u) << good.body;
  EXPECT_EQ(text(good, "client_id"), a);
  EXPECT_FALSE(text(good, "expires_at").empty());
  auto client = "Bearer " + text(good, "token");
  expect_problem(login_reply("client", "a@acme.test", "wrong-password"), 401,
                 "bad password");
  expect_problem(login_reply("client", "ghost@acme.test", "client-a-password"),
                 401, "unknown email");
  expect_problem(login_reply("client", "nologin@acme.test", ""), 422,
                 "empty password");
  expect_problem(login_reply("client", "nologin@acme.test", "anything-at-all"),
                 401, "client without a login");
  expect_problem(login_reply("client", "owner@example.com", "owner-password"),
                 401, "an admin's credentials on the client login");
  expect_problem(login_reply("admin", "a@acme.test", "client-a-password"), 401,
                 "a client's credentials on the admin login");
  auto malformed = conn_->request("POST", "/api/v1/auth/client/token", "{x");
  expect_problem(malformed, 400, "malformed body");

  // Tokens of one kind do not open the other's routes.
  auto any_service = "/api/v1/client/services/" + a;
  expect_problem(call("GET", any_service, owner_), 401, "admin token, client");
  expect_problem(call("GET", any_service, "-"), 401, "no token, client");
  expect_problem(call("GET", any_service, "Bearer x.y"), 401, "bad token");
  expect_problem(call("GET", "/api/v1/admin/clients/" + a, client), 401,
                 "client token, admin");
  expect_problem(call("GET", "/api/v1/admin/modules", client), 401,
                 "client token, admin list");
  expect_problem(call("GET", any_service, client), 404,
                 "a client id is not a service");

  // Bad client input changes nothing.
  auto before = log_position();
  expect_problem(call("POST", "/api/v1/admin/clients", {},
                      json::object{{"name", "Short"},
                                   {"email", "short@acme.test"},
                                   {"currency", "EUR"},
                                   {"password", "short"}}),
                 422, "short password");
  expect_problem(call("POST", "/api/v1/admin/clients", {},
                      json::object{{"name", "Twin"},
                                   {"email", "a@acme.test"},
                                   {"currency", "EUR"},
                                   {"password", "another-password"}}),
                 409, "a login email taken");
  expect_problem(call("POST", "/api/v1/admin/clients", {},
                      json::object{{"name", "Typed"},
                                   {"email", "typed@acme.test"},
                                   {"currency", "EUR"},
                                   {"password", 12345678}}),
                 422, "password not a string");
  EXPECT_EQ(log_position(), before);
  EXPECT_FALSE(without.empty());
}

TEST_F(client_area_test, tabs_and_actions_of_own_services_only) {
  ASSERT_EQ(
    call("POST", "/api/v1/admin/modules/Product/testkit/activate").status,
    200u);
  auto a = make_client("a@acme.test", "client-a-password");
  auto b = make_client("b@acme.test", "client-b-password");
  auto product = make_product("testkit", {});
  auto svc = make_service(a, product);
  ASSERT_EQ(svc.at("status").as_string(), "active") << json::serialize(svc);
  auto id = std::string{svc.at("id").as_string()};
  auto token_a = login("client", "a@acme.test", "client-a-password");
  auto token_b = login("client", "b@acme.test", "client-b-password");
  auto base = "/api/v1/client/services/" + id;
  auto before = log_position();

  // The owner sees the service, its tabs, a tab and its actions.
  auto own = call("GET", base, token_a);
  ASSERT_EQ(own.status, 200u) << own.body;
  EXPECT_EQ(doc(own).at("client_id").as_string(), a);
  EXPECT_EQ(doc(own).at("status").as_string(), "active");
  EXPECT_EQ(doc(own).at("service_data").at("greeting").as_string(),
            "hello " + a);
  auto tabs = call("GET", base + "/tabs", token_a);
  ASSERT_EQ(tabs.status, 200u) << tabs.body;
  auto items = doc(tabs).at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("key").as_string(), "info");
  EXPECT_EQ(items[0].at("name").as_string(), "Info");
  auto info = call("GET", base + "/tabs/info?lang=en", token_a);
  ASSERT_EQ(info.status, 200u) << info.body;
  EXPECT_EQ(info.header("cache-control"), "no-store");
  auto vars = doc(info).at("variables").as_object();
  EXPECT_EQ(vars.at("greeting").as_string(), "hello " + a);
  EXPECT_EQ(vars.at("service_uuid").as_string(), id);
  EXPECT_TRUE(vars.at("owner").as_bool());
  EXPECT_EQ(vars.at("params").at("lang").as_string(), "en");
  auto html = std::string{doc(info).at("html").as_string()};
  EXPECT_NE(html.find("<p class=\"greeting\">hello " + a + "</p>"),
            std::string::npos)
    << html;
  auto echo = call("POST", base + "/tabs/info/echo", token_a,
                   json::object{{"message", "hi"}});
  ASSERT_EQ(echo.status, 200u) << echo.body;
  EXPECT_EQ(doc(echo).at("result").at("echo").as_string(), "hi");

  // Unknown tabs and actions, bad bodies, module errors: problems.
  expect_problem(call("GET", base + "/tabs/nope", token_a), 404, "tab");
  expect_problem(call("POST", base + "/tabs/info/nope", token_a), 404,
                 "action");
  expect_problem(call("POST", base + "/tabs/nope/echo", token_a,
                      json::object{{"message", "hi"}}),
                 404, "action of an unknown tab");
  expect_problem(call("POST", base + "/tabs/info/echo", token_a), 422,
                 "validation");
  auto bad_json = conn_->request("POST", base + "/tabs/info/echo",
                                 "{\"m\":", {{"Authorization", token_a}});
  expect_problem(bad_json, 400, "malformed body");
  expect_problem(call("POST", base + "/tabs/info/boom", token_a), 502,
                 "a module that throws");
  expect_problem(call("POST", base + "/tabs/info/down", token_a), 502,
                 "an upstream failure");
  expect_problem(call("DELETE", base + "/tabs/info", token_a), 405,
                 "wrong method");
  EXPECT_EQ(billow::test::http_get(app_->port(), "/healthz").status, 200u);

  // Another client, unknown ids and ids that are no UUIDs: 404 alike.
  for (const auto& path :
       {base, base + "/tabs", base + "/tabs/info",
        std::string{"/api/v1/client/services/"
                    "00000000-0000-4000-8000-000000000000/tabs"},
        std::string{"/api/v1/client/services/not-a-uuid"}})
    expect_problem(call("GET", path, token_b), 404, path);
  expect_problem(call("POST", base + "/tabs/info/echo", token_b,
                      json::object{{"message", "hi"}}),
                 404, "another client's action");
  EXPECT_EQ(log_position(), before) << "the client area wrote to the log";

  // A module that is not active answers 503.
  ASSERT_EQ(
    call("POST", "/api/v1/admin/modules/Product/testkit/deactivate").status,
    200u);
  expect_problem(call("GET", base + "/tabs/info", token_a), 503,
                 "inactive module");
}

// A client created with a login can log in at once: the login waits for the
// client directory to apply the log as it is when the login comes.
TEST_F(client_area_test, a_new_client_logs_in_right_after_it_was_created) {
  for (int i = 0; i < 10; ++i) {
    auto email = "new" + std::to_string(i) + "@acme.test";
    make_client(email, "a-fresh-password");
    EXPECT_EQ(login_reply("client", email, "a-fresh-password").status, 200u)
      << email;
  }
}

// GET /api/v1/client/services: the caller's own services, nobody else's.
TEST_F(client_area_test, the_service_list_holds_own_services_only) {
  ASSERT_EQ(
    call("POST", "/api/v1/admin/modules/Product/testkit/activate").status,
    200u);
  auto a = make_client("la@acme.test", "client-a-password");
  auto b = make_client("lb@acme.test", "client-b-password");
  auto product = make_product("testkit", {});
  std::vector<std::string> mine;
  for (int i = 0; i < 3; ++i) {
    auto r = call("POST", "/api/v1/admin/services", {},
                  boost::json::object{{"client_id", a},
                                      {"product_id", product},
                                      {"period", "monthly"}});
    ASSERT_EQ(r.status, 201u) << r.body;
    mine.push_back(text(r, "id"));
  }
  auto theirs = call("POST", "/api/v1/admin/services", {},
                     boost::json::object{{"client_id", b},
                                         {"product_id", product},
                                         {"period", "monthly"}});
  ASSERT_EQ(theirs.status, 201u);
  auto pos = theirs.header("x-billow-position");
  auto token_a = login("client", "la@acme.test", "client-a-password");
  std::vector<std::string> seen;
  std::vector<boost::json::object> listed;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto r = call("GET",
                  "/api/v1/client/services?limit=2&min_position=" + pos
                    + (cursor.empty() ? "" : "&cursor=" + cursor),
                  token_a);
    ASSERT_EQ(r.status, 200u) << r.body;
    auto d = doc(r);
    for (auto& item : d.at("items").as_array()) {
      EXPECT_EQ(item.at("client_id").as_string(), a);
      seen.emplace_back(item.at("id").as_string());
      listed.push_back(item.as_object());
    }
    if (d.at("next_cursor").is_null())
      break;
    cursor = std::string{d.at("next_cursor").as_string()};
  }
  EXPECT_EQ(seen, mine);
  // The GET of one service shows what its list item shows.
  for (const auto& item : listed) {
    auto one = call("GET",
                    "/api/v1/client/services/"
                      + std::string{item.at("id").as_string()},
                    token_a);
    ASSERT_EQ(one.status, 200u) << one.body;
    for (auto field : {"id", "client_id", "product_id", "status",
                       "provision_status", "next_due_date", "service_data"})
      EXPECT_EQ(doc(one).at(field), item.at(field))
        << field << ": " << one.body;
  }
  auto pending
    = call("GET", "/api/v1/client/services?status=pending&min_position=" + pos,
           token_a);
  ASSERT_EQ(pending.status, 200u);
  EXPECT_EQ(doc(pending).at("items").as_array().size(), 3u);
  EXPECT_EQ(call("GET", "/api/v1/client/services?status=nope", token_a).status,
            422u);
  EXPECT_EQ(call("GET", "/api/v1/client/services").status, 401u)
    << "an admin token does not open the client area";
  EXPECT_EQ(call("GET", "/api/v1/client/services", "-").status, 401u);
}

TEST_F(client_area_test, postgres_tabs_show_working_credentials_and_usage) {
  billow::test::postgres_server pg;
  auto server = [&](int port) {
    return json::object{
      {"servers",
       json::array{json::object{{"name", "main"},
                                {"host", pg.host()},
                                {"port", port},
                                {"admin_user", pg.admin_user()},
                                {"admin_password", pg.admin_password()}}}}};
  };
  ASSERT_EQ(call("PUT", "/api/v1/admin/modules/Product/postgres/config", {},
                 server(pg.port()))
              .status,
            200u);
  ASSERT_EQ(
    call("POST", "/api/v1/admin/modules/Product/postgres/activate").status,
    200u);
  auto a = make_client("a@acme.test", "client-a-password");
  auto product = make_product("postgres",
                              json::object{{"server", "main"},
                                           {"connection_limit", 3},
                                           {"db_prefix", "ca"}});
  auto svc = make_service(a, product);
  ASSERT_EQ(svc.at("status").as_string(), "active") << json::serialize(svc);
  auto base = "/api/v1/client/services/"
    + std::string{svc.at("id").as_string()};
  auto token = login("client", "a@acme.test", "client-a-password");

  auto tabs = call("GET", base + "/tabs", token);
  ASSERT_EQ(tabs.status, 200u) << tabs.body;
  EXPECT_EQ(doc(tabs).at("items").as_array().size(), 2u);
  // The overview shows the owner credentials that really log in.
  auto overview = call("GET", base + "/tabs/overview", token);
  ASSERT_EQ(overview.status, 200u) << overview.body;
  auto vars = doc(overview).at("variables").as_object();
  auto password = std::string{vars.at("password").as_string()};
  auto database = std::string{vars.at("database").as_string()};
  EXPECT_EQ(vars.at("host").as_string(), pg.host());
  EXPECT_EQ(vars.at("port").as_int64(), pg.port());
  auto* conn = PQconnectdb(
    pg.conninfo(std::string{vars.at("user").as_string()}, password, database)
      .c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PQfinish(conn);
  auto html = std::string{doc(overview).at("html").as_string()};
  EXPECT_NE(html.find("<dd class=\"password\">" + password + "</dd>"),
            std::string::npos)
    << html;
  // The client's service view keeps the sealed password redacted.
  EXPECT_EQ(
    doc(call("GET", base, token)).at("service_data").at("password").as_string(),
    "[redacted]");

  // Usage asks the database server; so does the refresh action.
  auto usage = call("GET", base + "/tabs/usage", token);
  ASSERT_EQ(usage.status, 200u) << usage.body;
  EXPECT_EQ(doc(usage).at("variables").at("database").as_string(), database);
  EXPECT_GT(doc(usage).at("variables").at("size_bytes").as_int64(), 0);
  auto refresh = call("POST", base + "/tabs/usage/refresh", token);
  ASSERT_EQ(refresh.status, 200u) << refresh.body;
  EXPECT_GT(doc(refresh).at("result").at("size_bytes").as_int64(), 0);

  // A database server that does not answer is an upstream failure (502);
  // the overview needs no server and still works.
  ASSERT_EQ(call("PUT", "/api/v1/admin/modules/Product/postgres/config", {},
                 server(1))
              .status,
            200u);
  expect_problem(call("GET", base + "/tabs/usage", token), 502, "server down");
  expect_problem(call("POST", base + "/tabs/usage/refresh", token), 502,
                 "server down, action");
  EXPECT_EQ(call("GET", base + "/tabs/overview", token).status, 200u);
}
