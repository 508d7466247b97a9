// The bodies of the lifecycle commands and of the logins refuse fields they
// do not know, as the create bodies do: a 422 naming each, "is not
// supported yet" for the ones the API names but this build does not act on
// (change_package's `period`, a login's `totp`). A refused command writes
// nothing and leaves the service as it was; a refused login issues no token.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/api/client_fixture.hpp"

namespace json = boost::json;
using billow::test::http_reply;

namespace {

class body_fields_test : public billow::test::client_fixture {
protected:
  /// A service of a product provisioned by hand (its commands are done at
  /// once), ordered but not created.
  std::string manual_service() {
    auto client = make_client("manual@example.com", "");
    auto product = call(
      "POST", "/api/v1/admin/products", {},
      {{"name", "Manual"},
       {"prices",
        json::array{json::object{
          {"currency", "EUR"}, {"period", "monthly"}, {"amount", "5.00"}}}}});
    EXPECT_EQ(product.status, 201u) << product.body;
    product_ = text(product, "id");
    auto r = call("POST", "/api/v1/admin/services", {},
                  {{"client_id", client}, {"product_id", product_}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return text(r, "id");
  }

  int64_t last_position() {
    auto r = call("GET", "/api/v1/admin/events?limit=1");
    EXPECT_EQ(r.status, 200u) << r.body;
    return doc(r).at("last_position").as_int64();
  }

  /// The fields a 422 names, with their messages: `a: m; b: m`.
  static std::string refused_fields(const http_reply& r) {
    EXPECT_EQ(r.status, 422u) << r.body;
    EXPECT_EQ(r.header("x-billow-position"), "") << r.body;
    std::string out;
    auto d = doc(r);
    if (auto* errors = d.if_contains("errors"))
      for (const auto& e : errors->as_array())
        out += (out.empty() ? "" : "; ")
          + std::string{e.at("field").as_string()} + ": "
          + std::string{e.at("message").as_string()};
    return out;
  }

  std::string product_;
};

} // namespace

TEST_F(body_fields_test, lifecycle_commands_refuse_unknown_fields_by_name) {
  auto id = manual_service();
  auto version
    = doc(call("GET", "/api/v1/admin/services/" + id)).at("version").as_int64();
  auto before = last_position();
  for (const char* op :
       {"create", "suspend", "unsuspend", "terminate", "cancel"}) {
    auto r = call("POST", "/api/v1/admin/services/" + id + "/" + op, {},
                  {{"reason", "because"}, {"force", true}});
    EXPECT_EQ(refused_fields(r), "force: is not a field of this request") << op;
    EXPECT_NE(std::string{doc(r).at("detail").as_string()}.find("force"),
              std::string::npos)
      << r.body;
  }
  // A field of another operation is unknown here too.
  EXPECT_EQ(refused_fields(call("POST",
                                "/api/v1/admin/services/" + id + "/suspend", {},
                                {{"product_id", product_}})),
            "product_id: is not a field of this request");
  // change_package names `period`, which is not built yet.
  EXPECT_EQ(
    refused_fields(
      call("POST", "/api/v1/admin/services/" + id + "/change_package", {},
           {{"product_id", product_}, {"period", "monthly"}, {"extra", 1}})),
    "period: is not supported yet; extra: is not a field of this request");
  EXPECT_EQ(last_position(), before);
  auto svc = doc(call("GET", "/api/v1/admin/services/" + id));
  EXPECT_EQ(svc.at("version").as_int64(), version);
  EXPECT_EQ(svc.at("status").as_string(), "pending");
  // The known fields still work, and so does no body at all.
  auto created = call("POST", "/api/v1/admin/services/" + id + "/create", {},
                      {{"reason", "go"}});
  EXPECT_EQ(created.status, 200u) << created.body;
  auto suspended = conn_->request("POST",
                                  "/api/v1/admin/services/" + id + "/suspend",
                                  "", {{"Authorization", owner_}});
  EXPECT_EQ(suspended.status, 200u) << suspended.body;
  EXPECT_GT(last_position(), before);
}

TEST_F(body_fields_test, logins_refuse_unknown_fields_and_issue_no_token) {
  make_client("login@example.com", "login-client-password");
  auto before = last_position();
  for (auto [kind, email, password] :
       {std::tuple{"admin", "owner@example.com", "owner-password"},
        std::tuple{"client", "login@example.com", "login-client-password"}}) {
    auto path = std::string{"/api/v1/auth/"} + kind + "/token";
    auto extra = conn_->request(
      "POST", path,
      json::serialize(json::object{
        {"email", email}, {"password", password}, {"remember_me", true}}));
    EXPECT_EQ(refused_fields(extra),
              "remember_me: is not a field of this request")
      << kind;
    EXPECT_FALSE(doc(extra).contains("token")) << extra.body;
    auto totp = conn_->request(
      "POST", path,
      json::serialize(json::object{
        {"email", email}, {"password", password}, {"totp", "123456"}}));
    EXPECT_EQ(refused_fields(totp), "totp: is not supported yet") << kind;
    // A wrong password with an unknown field is refused for the field: the
    // password is not checked at all.
    auto both = conn_->request(
      "POST", path,
      json::serialize(json::object{
        {"email", email}, {"password", "wrong-password"}, {"otp", "1"}}));
    EXPECT_EQ(refused_fields(both), "otp: is not a field of this request");
    // The known fields log in as before.
    EXPECT_EQ(login_reply(kind, email, password).status, 200u) << kind;
  }
  EXPECT_EQ(last_position(), before);
}
