// Admin login and the audit routes, as an operator uses them: admins made
// the way `billow admin create` makes them, a real server, real HTTP.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "api/auth.hpp"
#include "api/json_body.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "projections/admin_directory.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using billow::test::http_connection;
using billow::test::http_reply;

namespace {

class audit_test : public ::testing::Test {
protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    std::filesystem::create_directories(data_);
    {
      auto store = billow::api::open_data_dir(data_);
      ASSERT_TRUE(store);
      auto owner = billow::api::create_admin(**store, "owner@example.com",
                                             "owner-password", "owner");
      ASSERT_TRUE(owner) << billow::detail_of(owner.error());
      owner_id_ = *owner;
      auto ro = billow::api::create_admin(**store, "ro@example.com",
                                          "reader-password", "read_only");
      ASSERT_TRUE(ro);
    }
    start();
  }

  void TearDown() override {
    app_.reset();
  }

  void start() {
    billow::api::application_options opts;
    opts.http.port = 0;
    opts.runtime.scheduler_threads = 2;
    opts.data_dir = data_;
    app_ = std::make_unique<billow::api::application>(opts);
    ASSERT_FALSE(app_->start());
    conn_ = std::make_unique<http_connection>(app_->port());
  }

  std::string login(const std::string& email, const std::string& password) {
    auto reply = conn_->request("POST", "/api/v1/auth/admin/token",
                                boost::json::serialize(boost::json::object{
                                  {"email", email}, {"password", password}}));
    EXPECT_EQ(reply.status, 200u) << reply.body;
    return std::string{boost::json::parse(reply.body).at("token").as_string()};
  }

  http_reply get(const std::string& target, const std::string& token) {
    return conn_->request("GET", target, {},
                          {{"Authorization", "Bearer " + token}});
  }

  static boost::json::object json(const http_reply& r) {
    return boost::json::parse(r.body).as_object();
  }

  billow::test::temp_dir dir_{"audit"};
  std::filesystem::path data_;
  std::string owner_id_;
  std::unique_ptr<billow::api::application> app_;
  std::unique_ptr<http_connection> conn_;
};

} // namespace

TEST_F(audit_test, login_with_the_right_password_gives_a_token) {
  auto reply = conn_->request(
    "POST", "/api/v1/auth/admin/token",
    R"({"email":"OWNER@example.com","password":"owner-password"})");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  auto doc = json(reply);
  EXPECT_FALSE(doc.at("token").as_string().empty());
  EXPECT_EQ(doc.at("admin_id").as_string(), owner_id_);
  EXPECT_TRUE(
    billow::api::parse_rfc3339(doc.at("expires_at").as_string()).has_value());
}

TEST_F(audit_test, wrong_password_or_unknown_email_is_401) {
  for (auto body :
       {R"({"email":"owner@example.com","password":"wrong-password"})",
        R"({"email":"nobody@example.com","password":"owner-password"})"}) {
    auto reply = conn_->request("POST", "/api/v1/auth/admin/token", body);
    EXPECT_EQ(reply.status, 401u) << body;
    EXPECT_EQ(reply.header("content-type"), "application/problem+json");
  }
}

TEST_F(audit_test, malformed_login_bodies_are_400_or_422_with_fields) {
  auto bad_json = conn_->request("POST", "/api/v1/auth/admin/token",
                                 "{\"email\":");
  EXPECT_EQ(bad_json.status, 400u);
  auto deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_EQ(conn_->request("POST", "/api/v1/auth/admin/token", deep).status,
            400u);
  auto missing = conn_->request("POST", "/api/v1/auth/admin/token",
                                R"({"email": 5})");
  ASSERT_EQ(missing.status, 422u);
  auto errors = json(missing).at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].at("field").as_string(), "email");
  EXPECT_EQ(errors[0].at("message").as_string(), "must be a string");
  EXPECT_EQ(errors[1].at("field").as_string(), "password");
  EXPECT_EQ(errors[1].at("message").as_string(), "is required");
}

TEST_F(audit_test, admin_routes_need_a_valid_token) {
  EXPECT_EQ(conn_->request("GET", "/api/v1/admin/events").status, 401u);
  EXPECT_EQ(get("/api/v1/admin/events", "garbage").status, 401u);
  auto token = login("owner@example.com", "owner-password");
  auto tampered = token;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(get("/api/v1/admin/events", tampered).status, 401u);
  EXPECT_EQ(get("/api/v1/admin/events", token).status, 200u);
}

TEST_F(audit_test, events_list_what_happened_with_actor_and_type_filters) {
  auto token = login("owner@example.com", "owner-password");
  auto reply = get("/api/v1/admin/events?type=admin.created", token);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  auto items = json(reply).at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  auto first = items[0].as_object();
  EXPECT_EQ(first.at("position").as_int64(), 1);
  EXPECT_EQ(first.at("stream").as_string(), "admin-" + owner_id_);
  EXPECT_EQ(first.at("actor").as_string(), "system");
  EXPECT_EQ(first.at("payload").at("email").as_string(), "owner@example.com");
  EXPECT_EQ(items[1].at("prev_hash").as_string(), first.at("hash").as_string());
  // Nothing matches another type or actor.
  EXPECT_TRUE(json(get("/api/v1/admin/events?type=service.suspended", token))
                .at("items")
                .as_array()
                .empty());
  EXPECT_TRUE(json(get("/api/v1/admin/events?actor=admin:x", token))
                .at("items")
                .as_array()
                .empty());
}

TEST_F(audit_test, events_paginate_by_cursor) {
  auto token = login("owner@example.com", "owner-password");
  auto page1 = json(get("/api/v1/admin/events?limit=1", token));
  ASSERT_EQ(page1.at("items").as_array().size(), 1u);
  ASSERT_TRUE(page1.at("next_cursor").is_string());
  auto cursor = std::string{page1.at("next_cursor").as_string()};
  auto page2
    = json(get("/api/v1/admin/events?limit=1&cursor=" + cursor, token));
  ASSERT_EQ(page2.at("items").as_array().size(), 1u);
  EXPECT_EQ(page2.at("items").as_array()[0].at("position").as_int64(), 2);
  auto after = json(get("/api/v1/admin/events?after=2", token));
  EXPECT_TRUE(after.at("items").as_array().empty());
  EXPECT_TRUE(after.at("next_cursor").is_null());
}

TEST_F(audit_test, time_range_filters_by_commit_time) {
  auto token = login("owner@example.com", "owner-password");
  auto all = json(get("/api/v1/admin/events", token)).at("items").as_array();
  ASSERT_EQ(all.size(), 2u);
  auto t2 = std::string{all[1].at("time").as_string()};
  auto from = json(get("/api/v1/admin/events?from=" + t2, token))
                .at("items")
                .as_array();
  ASSERT_GE(from.size(), 1u);
  EXPECT_EQ(from.back().at("position").as_int64(), 2);
  auto before
    = json(get("/api/v1/admin/events?to=2000-01-01T00:00:00Z", token));
  EXPECT_TRUE(before.at("items").as_array().empty());
}

TEST_F(audit_test, bad_query_parameters_are_422_naming_them) {
  auto token = login("owner@example.com", "owner-password");
  auto reply = get(
    "/api/v1/admin/events?limit=0&from=yesterday&correlation_id=x", token);
  ASSERT_EQ(reply.status, 422u);
  std::vector<std::string> fields;
  auto doc = json(reply);
  for (const auto& e : doc.at("errors").as_array())
    fields.emplace_back(e.at("field").as_string());
  EXPECT_EQ(fields,
            (std::vector<std::string>{"limit", "correlation_id", "from"}));
}

TEST_F(audit_test, a_stream_reads_in_order_and_unknown_streams_are_404) {
  auto token = login("owner@example.com", "owner-password");
  auto reply = get("/api/v1/admin/streams/admin-" + owner_id_, token);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  auto doc = json(reply);
  EXPECT_EQ(doc.at("version").as_int64(), 1);
  EXPECT_EQ(doc.at("items").as_array()[0].at("type").as_string(),
            "admin.created");
  EXPECT_EQ(get("/api/v1/admin/streams/service-nope", token).status, 404u);
  EXPECT_EQ(get("/api/v1/admin/streams/bad%20stream", token).status, 422u);
}

TEST_F(audit_test, no_admin_sees_a_password_hash_in_the_log) {
  // The hash is in the credential store; the event says there is a login.
  for (auto [email, password] :
       {std::pair{"ro@example.com", "reader-password"},
        std::pair{"owner@example.com", "owner-password"}}) {
    auto token = login(email, password);
    auto reply = get("/api/v1/admin/events", token);
    ASSERT_EQ(reply.status, 200u) << reply.body;
    EXPECT_EQ(reply.body.find("argon2"), std::string::npos) << reply.body;
    auto items = json(reply).at("items").as_array();
    ASSERT_FALSE(items.empty());
    const auto& payload = items[0].at("payload").as_object();
    EXPECT_FALSE(payload.contains("password_hash")) << reply.body;
    EXPECT_TRUE(payload.at("login").as_bool()) << reply.body;
  }
}

TEST_F(audit_test, verify_walks_the_whole_chain) {
  auto token = login("ro@example.com", "reader-password");
  auto reply = get("/api/v1/admin/audit/verify", token);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  auto doc = json(reply);
  EXPECT_TRUE(doc.at("ok").as_bool());
  EXPECT_EQ(doc.at("checked").as_int64(), 2);
}

TEST_F(audit_test, tokens_stay_valid_across_a_restart) {
  auto token = login("owner@example.com", "owner-password");
  conn_.reset();
  app_.reset();
  start();
  EXPECT_EQ(get("/api/v1/admin/events", token).status, 200u);
}

TEST(auth_unit, token_expiry_and_key_are_checked) {
  billow::api::token_signer signer{std::string(32, 'k')};
  auto token = signer.issue({"admin", "abc", 1000});
  auto claims = signer.verify(token, 999);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->id, "abc");
  EXPECT_FALSE(signer.verify(token, 1000)); // expired
  billow::api::token_signer other{std::string(32, 'x')};
  EXPECT_FALSE(other.verify(token, 999)); // another key
}

// verify remembers tokens whose MAC was right: a remembered token still
// expires, any other text (a changed claim or MAC) is checked in full, and
// the memory stays bounded.
TEST(auth_unit, a_remembered_token_is_still_checked_for_expiry_and_text) {
  billow::api::token_signer signer{std::string(32, 'k')};
  auto token = signer.issue({"admin", "abc", 1000});
  ASSERT_TRUE(signer.verify(token, 999));
  ASSERT_TRUE(signer.verify(token, 999)); // remembered now
  EXPECT_FALSE(signer.verify(token, 1000));
  auto other = signer.issue({"admin", "abd", 1000});
  auto forged = other.substr(0, other.find('.'))
    + token.substr(token.find('.'));
  EXPECT_FALSE(signer.verify(forged, 999)); // abd's claims, abc's MAC
  auto flipped = token;
  auto& c = flipped[token.find('.') + 5]; // inside the MAC
  c = c == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer.verify(flipped, 999));
  for (size_t i = 0; i < 2 * billow::api::token_signer::remembered_tokens; ++i)
    ASSERT_TRUE(
      signer.verify(signer.issue({"admin", std::to_string(i), 1000}), 999));
  auto claims = signer.verify(token, 999);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->id, "abc");
  EXPECT_EQ(claims->kind, "admin");
}

TEST(auth_unit, groups_grant_what_their_names_say) {
  using billow::projections::group_grants;
  EXPECT_TRUE(group_grants("owner", "services.write"));
  EXPECT_TRUE(group_grants("read_only", "events.read"));
  EXPECT_FALSE(group_grants("read_only", "services.write"));
  EXPECT_FALSE(group_grants("read_only", "secrets.read"));
  EXPECT_FALSE(group_grants("nobody", "events.read"));
}

TEST(auth_unit, create_admin_refuses_bad_input_and_writes_nothing) {
  billow::test::temp_dir dir{"admins"};
  auto data = billow::api::open_data_dir(dir.path());
  ASSERT_TRUE(data);
  auto& d = **data;
  auto& s = *d.store;
  EXPECT_FALSE(
    billow::api::create_admin(d, "not-an-email", "long-enough", "owner"));
  EXPECT_FALSE(billow::api::create_admin(d, "a@b.c", "short", "owner"));
  EXPECT_FALSE(billow::api::create_admin(d, "a@b.c", "long-enough", "root"));
  EXPECT_EQ(s.last_position(), 0u);
  ASSERT_TRUE(billow::api::create_admin(d, "a@b.c", "long-enough", "owner"));
  auto dup = billow::api::create_admin(d, "A@B.C", "long-enough", "owner");
  ASSERT_FALSE(dup);
  EXPECT_EQ(billow::errc_of(dup.error()), billow::billow_errc::already_exists);
  EXPECT_EQ(s.last_position(), 1u);
}
