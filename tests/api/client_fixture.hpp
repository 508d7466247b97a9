#pragma once

// A running billow for the client-area and module-API tests: a data
// directory with an owner and a read-only admin, a modules directory holding
// the built postgres module and the test-only `Product/testkit` (whose
// module.json version a test can change between restarts), and HTTP helpers.

#include <fstream>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "events/event_store.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace billow::test {

class client_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    modules_ = dir_.path() / "modules";
    namespace fs = std::filesystem;
    fs::create_directories(modules_ / "Product");
    fs::copy(fs::path{BILLOW_BUILT_MODULES_DIR} / "Product" / "postgres",
             modules_ / "Product" / "postgres", fs::copy_options::recursive);
    fs::copy(fs::path{BILLOW_API_FIXTURES_DIR} / "Product" / "testkit",
             modules_ / "Product" / "testkit", fs::copy_options::recursive);
    fs::create_directories(data_);
    {
      auto store = api::open_data_dir(data_);
      ASSERT_TRUE(store);
      auto owner = api::create_admin(**store, "owner@example.com",
                                     "owner-password", "owner");
      ASSERT_TRUE(owner);
      ASSERT_TRUE(api::create_admin(**store, "ro@example.com",
                                    "reader-password", "read_only"));
    }
    start();
  }

  void TearDown() override {
    stop();
  }

  void start() {
    api::application_options opts;
    opts.http.port = 0;
    opts.data_dir = data_;
    opts.modules_dir = modules_;
    opts.clock = clock_;
    app_ = std::make_unique<api::application>(opts);
    ASSERT_FALSE(app_->start());
    conn_ = std::make_unique<http_connection>(app_->port(),
                                              std::chrono::seconds(30));
    owner_ = login("admin", "owner@example.com", "owner-password");
    reader_ = login("admin", "ro@example.com", "reader-password");
  }

  void stop() {
    conn_.reset();
    app_.reset();
  }

  /// Rewrites testkit's module.json with `version`.
  void set_testkit_version(const std::string& version) {
    std::ofstream out{modules_ / "Product" / "testkit" / "module.json",
                      std::ios::trunc};
    out << boost::json::serialize(
      boost::json::object{{"name", "testkit"},
                          {"type", "Product"},
                          {"version", version},
                          {"description", "test-only Product module"},
                          {"author", "tests"},
                          {"sdk_version", "1.0"}});
  }

  http_reply login_reply(const std::string& kind, const std::string& email,
                         const std::string& password) {
    return conn_->request("POST", "/api/v1/auth/" + kind + "/token",
                          boost::json::serialize(boost::json::object{
                            {"email", email}, {"password", password}}));
  }

  /// `Bearer <token>` of a good login.
  std::string login(const std::string& kind, const std::string& email,
                    const std::string& password) {
    auto r = login_reply(kind, email, password);
    EXPECT_EQ(r.status, 200u) << r.body;
    if (r.status != 200)
      return "Bearer none";
    return "Bearer "
      + std::string{boost::json::parse(r.body).at("token").as_string()};
  }

  /// A request with `token` (the owner's unless given; "-" for none).
  http_reply call(const std::string& method, const std::string& target,
                  const std::string& token = {},
                  const boost::json::object& body = {}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (token != "-")
      headers.emplace_back("Authorization", token.empty() ? owner_ : token);
    if (method != "GET" && method != "DELETE")
      headers.emplace_back("Content-Type", "application/json");
    return conn_->request(method, target,
                          method == "GET" || method == "DELETE"
                            ? std::string{}
                            : boost::json::serialize(body),
                          headers);
  }

  static boost::json::object doc(const http_reply& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object())
      return {};
    return v.as_object();
  }

  static std::string text(const http_reply& r, const char* key) {
    auto d = doc(r);
    auto* v = d.if_contains(key);
    return v && v->is_string() ? std::string{v->as_string()} : std::string{};
  }

  /// Creates a client (with a login when `password` is not empty).
  std::string make_client(const std::string& email,
                          const std::string& password) {
    boost::json::object body{
      {"name", "Client " + email}, {"email", email}, {"currency", "EUR"}};
    if (!password.empty())
      body["password"] = password;
    auto r = call("POST", "/api/v1/admin/clients", {}, body);
    EXPECT_EQ(r.status, 201u) << r.body;
    return text(r, "id");
  }

  /// A product on `Product/<module>`.
  std::string make_product(const std::string& module,
                           const boost::json::object& product_data) {
    auto r = call(
      "POST", "/api/v1/admin/products", {},
      boost::json::object{
        {"name", "P " + module},
        {"module", boost::json::object{{"type", "Product"}, {"name", module}}},
        {"product_data", product_data},
        {"prices",
         boost::json::array{boost::json::object{
           {"currency", "EUR"}, {"period", "monthly"}, {"amount", "9.90"}}}}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return text(r, "id");
  }

  /// Orders and provisions a service, and waits until it settles.
  boost::json::object make_service(const std::string& client,
                                   const std::string& product) {
    auto r = call("POST", "/api/v1/admin/services", {},
                  boost::json::object{{"client_id", client},
                                      {"product_id", product},
                                      {"period", "monthly"},
                                      {"provision", "now"}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return settle(text(r, "id"));
  }

  /// Polls the service until no operation is pending (bounded).
  boost::json::object settle(const std::string& id) {
    boost::json::object svc;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      svc = doc(call("GET", "/api/v1/admin/services/" + id));
      if (auto* p = svc.if_contains("pending_operation"); p && p->is_null())
        return svc;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "service " << id
                  << " still busy: " << boost::json::serialize(svc);
    return svc;
  }

  /// The log's last position (through the chain check).
  int64_t log_position() {
    return doc(call("GET", "/api/v1/admin/audit/verify"))
      .at("checked")
      .as_int64();
  }

  temp_dir dir_{"client"};
  std::filesystem::path data_, modules_;
  std::unique_ptr<api::application> app_;
  std::unique_ptr<http_connection> conn_;
  std::string owner_, reader_;
  /// The clock `start` runs the server on (set before SetUp).
  actors::clock_kind clock_ = actors::clock_kind::system;
};

} // namespace billow::test
