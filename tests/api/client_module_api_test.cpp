// Module admin API routes (`admin_api_routes`) behind the permissions the
// module declares, and the module `update` command, with the test-only
// testkit module.

#include "tests/api/client_fixture.hpp"

namespace json = boost::json;
using billow::test::client_fixture;
using billow::test::http_reply;

namespace {

class module_api_test : public client_fixture {
protected:
  /// testkit as `GET /api/v1/admin/modules` lists it.
  json::object testkit_status() {
    auto items
      = doc(call("GET", "/api/v1/admin/modules")).at("items").as_array();
    for (const auto& m : items)
      if (m.at("name").as_string() == "testkit")
        return m.as_object();
    ADD_FAILURE() << "testkit is not listed";
    return {};
  }
};

void expect_problem(const http_reply& r, unsigned status,
                    const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json") << what;
}

constexpr const char* api = "/api/v1/admin/modules/Product/testkit/api/";

} // namespace

TEST_F(module_api_test, routes_dispatch_behind_their_declared_permissions) {
  auto path = [](const std::string& uri) {
    return std::string{api} + uri;
  };
  expect_problem(call("GET", path("status")), 409, "inactive module");
  ASSERT_EQ(
    call("POST", "/api/v1/admin/modules/Product/testkit/activate").status,
    200u);
  // A `.read` permission: the owner and the read-only group.
  auto status = call("GET", path("status?verbose=1"));
  ASSERT_EQ(status.status, 200u) << status.body;
  EXPECT_EQ(doc(status).at("params").at("verbose").as_string(), "1");
  EXPECT_EQ(call("GET", path("status"), reader_).status, 200u);
  // A module key without `.read`: the owner only. Its uri has a slash.
  auto ran = call("POST", path("jobs/run"), {}, json::object{{"n", 1}});
  ASSERT_EQ(ran.status, 200u) << ran.body;
  EXPECT_TRUE(doc(ran).at("ran").as_bool());
  EXPECT_EQ(doc(ran).at("params").at("n").as_int64(), 1);
  expect_problem(call("POST", path("jobs/run"), reader_), 403,
                 "read-only admin, write route");
  // Wrong method, unknown route, unknown module, a module that throws.
  auto wrong = call("GET", path("jobs/run"));
  expect_problem(wrong, 405, "wrong method");
  EXPECT_EQ(wrong.header("allow"), "POST");
  expect_problem(call("GET", path("nope")), 404, "unknown route");
  expect_problem(call("GET", "/api/v1/admin/modules/Product/ghost/api/status"),
                 404, "unknown module");
  expect_problem(call("GET", "/api/v1/admin/modules/Product/..%2Fetc/api/x"),
                 404, "dotted module name");
  expect_problem(call("GET", path("boom")), 502, "a module that throws");
  EXPECT_EQ(billow::test::http_get(app_->port(), "/healthz").status, 200u);
  expect_problem(conn_->request("POST", path("jobs/run"), "[1",
                                {{"Authorization", owner_}}),
                 400, "malformed body");
  // No token, a client token.
  expect_problem(call("GET", path("status"), "-"), 401, "no token");
  make_client("a@acme.test", "client-a-password");
  expect_problem(call("GET", path("status"),
                      login("client", "a@acme.test", "client-a-password")),
                 401, "client token");
  // The postgres module is discovered but not active.
  expect_problem(call("GET",
                      "/api/v1/admin/modules/Product/postgres/api/servers"),
                 409, "inactive postgres");
}

TEST_F(module_api_test,
       update_runs_when_module_json_is_newer_and_409_otherwise) {
  auto update = [&](const std::string& token = {}) {
    return call("POST", "/api/v1/admin/modules/Product/testkit/update", token);
  };
  expect_problem(update(), 409, "never activated");
  ASSERT_EQ(
    call("POST", "/api/v1/admin/modules/Product/testkit/activate").status,
    200u);
  expect_problem(update(), 409, "nothing to update");
  expect_problem(update(reader_), 403, "read-only admin");
  expect_problem(call("POST", "/api/v1/admin/modules/Product/ghost/update"),
                 404, "unknown module");
  // The next start finds 1.1.0 and runs update(), which fails: the module
  // stays at 1.0.0 with the error.
  ASSERT_EQ(call("PUT", "/api/v1/admin/modules/Product/testkit/config", {},
                 json::object{{"fail_update", true}})
              .status,
            200u);
  stop();
  set_testkit_version("1.1.0");
  start();
  auto failed = testkit_status();
  EXPECT_EQ(failed.at("version").as_string(), "1.1.0");
  EXPECT_EQ(failed.at("recorded_version").as_string(), "1.0.0");
  EXPECT_FALSE(failed.at("error").is_null());
  expect_problem(update(), 422, "update() fails");
  // Told not to fail, update() runs from the recorded version.
  ASSERT_EQ(call("PUT", "/api/v1/admin/modules/Product/testkit/config", {},
                 json::object{{"fail_update", false}})
              .status,
            200u);
  auto updated = update();
  ASSERT_EQ(updated.status, 200u) << updated.body;
  EXPECT_EQ(doc(updated).at("recorded_version").as_string(), "1.1.0");
  EXPECT_TRUE(doc(updated).at("error").is_null());
  auto status = call("GET", std::string{api} + "status");
  ASSERT_EQ(status.status, 200u) << status.body;
  EXPECT_EQ(doc(status).at("updated_from").as_string(), "1.0.0");
  auto events = doc(call("GET", "/api/v1/admin/events?type=module.updated"))
                  .at("items")
                  .as_array();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("payload").at("from_version").as_string(), "1.0.0");
  EXPECT_EQ(events[0].at("payload").at("to_version").as_string(), "1.1.0");
  auto before = log_position();
  expect_problem(update(), 409, "already updated");
  EXPECT_EQ(log_position(), before);
}
