// Erasing a client (GDPR art. 17) by crypto-shredding: its name and email
// are encrypted in the log with its own key; erasing destroys the key, so
// every read, replay and rebuild shows "[erased]", while the log's chain,
// its amounts and the audit trail stay.

#include <gtest/gtest.h>

#include "api/data_dir.hpp"
#include "projections/known.hpp"
#include "projections/projection.hpp"
#include "tests/api/client_fixture.hpp"

namespace billow::test {
namespace {

namespace json = boost::json;

class erasure_test : public client_fixture {
protected:
  static constexpr const char* name = "Ada Lovelace-Byron";
  static constexpr const char* email = "ada.lovelace@analytical.test";
  static constexpr const char* password = "ada-client-password-31";

  std::string make_ada() {
    auto r = call("POST", "/api/v1/admin/clients", {},
                  json::object{{"name", name},
                               {"email", email},
                               {"currency", "EUR"},
                               {"password", password}});
    EXPECT_EQ(r.status, 201u) << r.body;
    EXPECT_EQ(text(r, "name"), name) << r.body;
    return text(r, "id");
  }

  http_reply erase(const std::string& id, const json::object& body,
                   const std::string& token = {}) {
    return call("POST", "/api/v1/admin/clients/" + id + "/erase", token, body);
  }

  /// Every read an admin has of the client, joined.
  std::string every_read_of(const std::string& id) {
    std::string all;
    for (auto target :
         {"/api/v1/admin/clients/" + id, std::string{"/api/v1/admin/clients"},
          "/api/v1/admin/streams/client-" + id,
          "/api/v1/admin/streams/client-" + id + "/state",
          std::string{"/api/v1/admin/events?limit=1000"},
          std::string{"/api/v1/admin/services"}}) {
      auto r = call("GET", target);
      EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
      all += r.body;
    }
    return all;
  }
};

TEST_F(erasure_test,
       an_erased_client_reads_erased_everywhere_and_the_log_holds) {
  auto ada = make_ada();
  auto other = make_client("bob@example.test", "bob-password-1");
  // Answers decrypt them (the log holds them encrypted: checked below).
  auto shown = every_read_of(ada);
  EXPECT_NE(shown.find(name), std::string::npos);
  EXPECT_NE(shown.find(email), std::string::npos);

  // An active service stops the erasure, and nothing is written.
  ASSERT_EQ(
    call("POST", "/api/v1/admin/modules/Product/testkit/activate").status,
    200u);
  auto product = make_product("testkit", {});
  auto svc = make_service(ada, product);
  ASSERT_EQ(svc.at("status").as_string(), "active") << json::serialize(svc);
  auto before = log_position();
  auto refused = erase(ada, {{"reason", "asked by the client"}});
  EXPECT_EQ(refused.status, 409u) << refused.body;
  EXPECT_EQ(text(refused, "type"), "/problems/client_has_active_services");
  EXPECT_EQ(log_position(), before);

  // Bad requests: no reason, another field, an unknown client, a reader.
  EXPECT_EQ(erase(ada, {}).status, 422u);
  auto extra = erase(ada, {{"reason", "x"}, {"colour", "red"}});
  EXPECT_EQ(extra.status, 422u);
  EXPECT_NE(extra.body.find("colour"), std::string::npos) << extra.body;
  EXPECT_EQ(
    erase("7d0bdbf1-8e4a-4c9e-9b41-2d3f0c6f2a11", {{"reason", "x"}}).status,
    404u);
  EXPECT_EQ(erase(ada, {{"reason", "x"}}, reader_).status, 403u);
  EXPECT_EQ(log_position(), before);

  auto id = std::string{svc.at("id").as_string()};
  ASSERT_EQ(call("POST", "/api/v1/admin/services/" + id + "/terminate").status,
            202u);
  auto ended = settle(id);
  ASSERT_EQ(ended.at("status").as_string(), "terminated")
    << json::serialize(ended);

  // The order's invoice is unpaid: that stops the erasure too, until it is
  // paid (or cancelled).
  before = log_position();
  auto owed = erase(ada, {{"reason", "asked by the client"}});
  EXPECT_EQ(owed.status, 409u) << owed.body;
  EXPECT_EQ(text(owed, "type"), "/problems/client_has_unpaid_invoices");
  EXPECT_EQ(log_position(), before);
  auto invoices = doc(call("GET", "/api/v1/admin/invoices?client_id=" + ada));
  ASSERT_EQ(invoices.at("items").as_array().size(), 1u);
  auto invoice = invoices.at("items").as_array()[0].as_object();
  ASSERT_EQ(call("POST",
                 "/api/v1/admin/invoices/"
                   + std::string{invoice.at("id").as_string()} + "/payments",
                 {},
                 json::object{{"amount", invoice.at("total")},
                              {"currency", "EUR"},
                              {"gateway", "bank"},
                              {"transaction_id", "ADA-1"}})
              .status,
            201u);

  auto erased = erase(ada, {{"reason", "asked by the client, ticket 4711"}});
  ASSERT_EQ(erased.status, 200u) << erased.body;
  EXPECT_EQ(text(erased, "name"), "[erased]") << erased.body;
  EXPECT_EQ(text(erased, "email"), "[erased]") << erased.body;
  EXPECT_TRUE(doc(erased).at("erased").as_bool());
  EXPECT_EQ(text(erased, "currency"), "EUR");

  auto after = every_read_of(ada);
  EXPECT_EQ(after.find(name), std::string::npos) << after;
  EXPECT_EQ(after.find(email), std::string::npos) << after;
  EXPECT_NE(after.find("[erased]"), std::string::npos);
  // The other client is untouched; the erased one cannot log in.
  EXPECT_EQ(text(call("GET", "/api/v1/admin/clients/" + other), "email"),
            "bob@example.test");
  EXPECT_EQ(login_reply("client", email, password).status, 401u);
  // Its services keep their history (the status is not personal).
  EXPECT_EQ(settle(id).at("status").as_string(), "terminated");

  // The erasure is in the audit history with its actor and reason.
  auto audit = doc(call("GET", "/api/v1/admin/events?type=client.erased"))
                 .at("items")
                 .as_array();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].at("stream").as_string(), "client-" + ada);
  EXPECT_TRUE(audit[0].at("actor").as_string().starts_with("admin:"));
  EXPECT_EQ(audit[0].at("payload").at("reason").as_string(),
            "asked by the client, ticket 4711");
  // A second erasure writes nothing and answers the same.
  auto position = log_position();
  EXPECT_EQ(erase(ada, {{"reason", "again"}}).status, 200u);
  EXPECT_EQ(log_position(), position);
  // The chain verifies.
  auto verify = doc(call("GET", "/api/v1/admin/audit/verify"));
  EXPECT_TRUE(verify.at("ok").as_bool()) << json::serialize(verify);

  // A rebuild of every read model and a restart still show [erased].
  stop();
  {
    // The log as stored: the name and email only ever encrypted.
    events::store_options opts;
    opts.dir = api::log_dir(data_).string();
    auto raw = events::event_store::open(std::move(opts));
    ASSERT_TRUE(raw);
    auto evs = (*raw)->read_stream("client-" + ada, 1,
                                   events::read_direction::forward, 100);
    ASSERT_TRUE(evs);
    ASSERT_FALSE(evs->empty());
    EXPECT_NE((*evs)[0].payload.find("pd:v1:client-" + ada), std::string::npos);
    for (const auto& ev : *evs) {
      EXPECT_EQ(ev.payload.find(name), std::string::npos) << ev.payload;
      EXPECT_EQ(ev.payload.find(email), std::string::npos) << ev.payload;
    }
  }
  {
    auto dir = api::open_data_dir(data_, true);
    ASSERT_TRUE(dir);
    for (const auto& n : projections::known_projections()) {
      auto p = projections::make_projection(n);
      ASSERT_TRUE(p->rebuild(*(*dir)->store)) << n;
    }
  }
  start();
  auto rebuilt = every_read_of(ada);
  EXPECT_EQ(rebuilt.find(name), std::string::npos) << rebuilt;
  EXPECT_EQ(rebuilt.find(email), std::string::npos) << rebuilt;
  EXPECT_EQ(text(call("GET", "/api/v1/admin/clients/" + ada), "name"),
            "[erased]");
  EXPECT_EQ(login_reply("client", email, password).status, 401u);
  // The other client's key survived the rebuild and the restart.
  EXPECT_EQ(text(call("GET", "/api/v1/admin/clients/" + other), "name"),
            "Client bob@example.test");
}

} // namespace
} // namespace billow::test
