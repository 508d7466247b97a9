// The admin lists over HTTP, read from the provisioning and jobs
// projections: every filter, cursor pagination, validation, permissions,
// read-your-write through `X-Billow-Position` and `?min_position=`, and the
// projections' readiness checks and lag gauge.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using billow::test::http_connection;
using billow::test::http_reply;
namespace json = boost::json;

namespace {

class list_test : public ::testing::Test {
protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    std::filesystem::create_directories(data_);
    {
      auto store = billow::api::open_data_dir(data_);
      ASSERT_TRUE(store);
      ASSERT_TRUE(billow::api::create_admin(**store, "owner@example.com",
                                            "owner-password", "owner"));
      ASSERT_TRUE(billow::api::create_admin(**store, "ro@example.com",
                                            "reader-password", "read_only"));
      seed(*(*store)->store);
    }
    billow::api::application_options opts;
    opts.http.port = 0;
    opts.runtime.scheduler_threads = 2;
    opts.data_dir = data_;
    opts.read_wait = std::chrono::milliseconds(300);
    app_ = std::make_unique<billow::api::application>(opts);
    ASSERT_FALSE(app_->start());
    conn_ = std::make_unique<http_connection>(app_->port());
    owner_ = login("owner@example.com", "owner-password");
    reader_ = login("ro@example.com", "reader-password");
  }

  void TearDown() override {
    conn_.reset();
    app_.reset();
  }

  /// Events written before the server starts (the projections catch up on
  /// them): a service whose module recorded service data, and jobs.
  virtual void seed(billow::events::event_store& store) {
    auto put = [&](const std::string& stream, const std::string& type,
                   const json::object& payload) {
      billow::events::new_event ev;
      ev.event_id = billow::events::uuid::random();
      ev.type = type;
      ev.actor = "system";
      ev.payload = json::serialize(payload);
      std::vector<billow::events::new_event> evs{ev};
      ASSERT_TRUE(
        store.append(stream, billow::events::expected_version::any(), evs));
    };
    seeded_service_ = billow::events::to_string(billow::events::uuid::random());
    auto job = billow::events::to_string(billow::events::uuid::random());
    put(
      "service-" + seeded_service_, "service.opened",
      {{"client_id", billow::events::to_string(billow::events::uuid::random())},
       {"product_id",
        billow::events::to_string(billow::events::uuid::random())},
       {"module", "Product/postgres"}});
    put("service-" + seeded_service_, "service.create_requested",
        {{"job_id", job}, {"policy", {{"tries", 1}}}});
    put("service-" + seeded_service_, "service.provisioned",
        {{"job_id", job},
         {"result",
          json::serialize(json::object{
            {"service_data",
             {{"db_name", "acme_1"}, {"db_password", "hunter22"}}}})}});
    for (auto [tag, outcome] : {std::pair{"create", "job.succeeded"},
                                {"suspend", "job.failed"},
                                {"create", "job.failed"},
                                {"terminate", "job.succeeded"}}) {
      auto id = billow::events::to_string(billow::events::uuid::random());
      jobs_.push_back(id);
      put("job-" + id, "job.queued",
          {{"job_id", id},
           {"module", "Product/postgres"},
           {"method", std::string{tag} + "_job"},
           {"input", "{}"},
           {"tags", json::array{tag}}});
      put("job-" + id, "job.started", {{"attempt", 1}});
      if (std::string_view{outcome} == "job.succeeded")
        put("job-" + id, outcome,
            {{"attempt", 1},
             {"result", R"({"service_data":{"db_password":"s3cret"}})"}});
      else
        put("job-" + id, outcome, {{"attempt", 1}, {"error", "refused"}});
    }
  }

  std::string login(const std::string& email, const std::string& password) {
    auto reply = conn_->request(
      "POST", "/api/v1/auth/admin/token",
      json::serialize(json::object{{"email", email}, {"password", password}}));
    EXPECT_EQ(reply.status, 200u) << reply.body;
    return std::string{json::parse(reply.body).at("token").as_string()};
  }

  http_reply get(const std::string& target, const std::string& token = {}) {
    return conn_->request(
      "GET", target, {},
      {{"Authorization", "Bearer " + (token.empty() ? owner_ : token)}});
  }

  http_reply post(const std::string& target, const json::object& body) {
    return conn_->request("POST", target, json::serialize(body),
                          {{"Authorization", "Bearer " + owner_}});
  }

  /// POSTs, expects success, remembers the answer's position.
  json::object command(const std::string& target, const json::object& body) {
    auto reply = post(target, body);
    EXPECT_LT(reply.status, 300u) << target << ": " << reply.body;
    EXPECT_FALSE(reply.header("x-billow-position").empty()) << target;
    position_ = std::max<uint64_t>(
      position_, std::stoull("0" + reply.header("x-billow-position")));
    return json::parse(reply.body).as_object();
  }

  std::string client(const std::string& name) {
    return std::string{command("/api/v1/admin/clients",
                               {{"name", name},
                                {"email", name + "@example.com"},
                                {"currency", "EUR"}})
                         .at("id")
                         .as_string()};
  }

  std::string product(const std::string& name) {
    return std::string{command("/api/v1/admin/products",
                               {{"name", name},
                                {"prices",
                                 json::array{{{"currency", "EUR"},
                                              {"period", "monthly"},
                                              {"amount", "5.00"}}}}})
                         .at("id")
                         .as_string()};
  }

  std::string service(const std::string& client, const std::string& product,
                      bool provision) {
    json::object body{{"client_id", client}, {"product_id", product}};
    if (provision)
      body["provision"] = "now";
    return std::string{
      command("/api/v1/admin/services", body).at("id").as_string()};
  }

  /// Every id of a list, following cursors with `limit`.
  std::vector<std::string> ids(const std::string& path,
                               const std::string& query, size_t limit,
                               const std::string& token = {}) {
    std::vector<std::string> out;
    std::string cursor;
    for (int guard = 0; guard < 100; ++guard) {
      auto target = path + "?limit=" + std::to_string(limit)
        + "&min_position=" + std::to_string(position_) + query
        + (cursor.empty() ? "" : "&cursor=" + cursor);
      auto reply = get(target, token);
      EXPECT_EQ(reply.status, 200u) << target << ": " << reply.body;
      if (reply.status != 200)
        break;
      auto doc = json::parse(reply.body).as_object();
      auto& items = doc.at("items").as_array();
      EXPECT_LE(items.size(), limit);
      for (auto& item : items)
        out.emplace_back(item.at("id").as_string());
      if (doc.at("next_cursor").is_null())
        break;
      cursor = std::string{doc.at("next_cursor").as_string()};
    }
    return out;
  }

  billow::test::temp_dir dir_{"lists"};
  std::filesystem::path data_;
  std::unique_ptr<billow::api::application> app_;
  std::unique_ptr<http_connection> conn_;
  std::string owner_, reader_;
  std::string seeded_service_;
  std::vector<std::string> jobs_;
  uint64_t position_ = 0;
};

} // namespace

TEST_F(list_test, services_filter_by_status_client_and_product_in_pages) {
  auto c1 = client("one");
  auto c2 = client("two");
  auto p1 = product("small");
  auto p2 = product("large");
  std::vector<std::string> all{seeded_service_}, suspended, active, pending,
    of_c1, of_p2;
  for (int i = 0; i < 9; ++i) {
    auto c = i % 2 == 0 ? c1 : c2;
    auto p = i % 3 == 0 ? p1 : p2;
    auto s = service(c, p, i % 4 != 3);
    all.push_back(s);
    if (c == c1)
      of_c1.push_back(s);
    if (p == p2)
      of_p2.push_back(s);
    if (i % 4 == 3) {
      pending.push_back(s);
    } else if (i % 4 == 1) {
      command("/api/v1/admin/services/" + s + "/suspend", {{"reason", "x"}});
      suspended.push_back(s);
    } else {
      active.push_back(s);
    }
  }
  const std::string path = "/api/v1/admin/services";
  EXPECT_EQ(ids(path, "", 4), all);
  EXPECT_EQ(ids(path, "&status=suspended", 1), suspended);
  EXPECT_EQ(ids(path, "&status=pending", 2), pending);
  // The seeded service is active too (provisioned through its module).
  active.insert(active.begin(), seeded_service_);
  EXPECT_EQ(ids(path, "&status=active", 3), active);
  EXPECT_EQ(ids(path, "&client_id=" + c1, 2), of_c1);
  EXPECT_EQ(ids(path, "&product_id=" + p2, 5), of_p2);
  std::vector<std::string> both;
  for (auto& s : of_c1)
    if (std::find(of_p2.begin(), of_p2.end(), s) != of_p2.end()
        && std::find(active.begin(), active.end(), s) != active.end())
      both.push_back(s);
  EXPECT_EQ(
    ids(path, "&status=active&client_id=" + c1 + "&product_id=" + p2, 1), both);
  EXPECT_TRUE(ids(path, "&status=terminated", 3).empty());
  EXPECT_TRUE(ids(path, "&client_id=" + p1, 3).empty());
  // An item carries what GET /services/{id} carries, plus its times.
  auto reply = get(path + "?status=suspended&limit=1");
  auto item = json::parse(reply.body).at("items").at(0).as_object();
  EXPECT_EQ(item.at("status").as_string(), "suspended");
  EXPECT_EQ(item.at("provision_status").as_string(), "completed");
  EXPECT_EQ(item.at("client_id").as_string(), c2);
  EXPECT_TRUE(item.contains("service_data"));
  EXPECT_TRUE(item.at("next_due_date").is_null());
  EXPECT_EQ(item.at("version").as_int64(), 3);
  EXPECT_TRUE(item.contains("created_at"));
  // Clients and products in order of creation.
  EXPECT_EQ(ids("/api/v1/admin/clients", "", 1),
            (std::vector<std::string>{c1, c2}));
  EXPECT_EQ(ids("/api/v1/admin/products", "", 5),
            (std::vector<std::string>{p1, p2}));
  auto clients = json::parse(get("/api/v1/admin/clients").body);
  EXPECT_EQ(clients.at("items").at(0).at("name").as_string(), "one");
  EXPECT_EQ(clients.at("items").at(0).at("currency").as_string(), "EUR");
  EXPECT_EQ(clients.at("items").at(0).at("balance").as_string(), "0.00");
}

TEST_F(list_test, a_command_s_position_makes_the_next_read_see_it) {
  auto s = service(client("c"), product("p"), true);
  for (int round = 0; round < 5; ++round) {
    for (auto [op, want] :
         {std::pair{"suspend", "suspended"}, {"unsuspend", "active"}}) {
      auto reply = post("/api/v1/admin/services/" + s + "/" + op, {});
      ASSERT_EQ(reply.status, 200u) << reply.body;
      auto pos = reply.header("x-billow-position");
      ASSERT_FALSE(pos.empty());
      auto list = get("/api/v1/admin/services?status=" + std::string{want}
                      + "&min_position=" + pos);
      ASSERT_EQ(list.status, 200u) << list.body;
      EXPECT_GE(std::stoull(list.header("x-billow-position")),
                std::stoull(pos));
      auto items = json::parse(list.body).at("items").as_array();
      EXPECT_TRUE(std::any_of(items.begin(), items.end(),
                              [&](auto& x) {
                                return x.at("id").as_string() == s;
                              }))
        << op;
      auto one = get("/api/v1/admin/services/" + s + "?min_position=" + pos);
      ASSERT_EQ(one.status, 200u);
      EXPECT_EQ(json::parse(one.body).at("status").as_string(), want);
    }
  }
}

// A GET without min_position answers from the projection only when that has
// applied every durable event; either way it never shows a state older than
// a command the caller already got an answer for.
TEST_F(list_test, a_get_after_a_command_never_shows_the_state_before_it) {
  auto s = service(client("c"), product("p"), true);
  for (int round = 0; round < 20; ++round) {
    for (auto [op, want] :
         {std::pair{"suspend", "suspended"}, {"unsuspend", "active"}}) {
      auto reply = post("/api/v1/admin/services/" + s + "/" + op, {});
      ASSERT_EQ(reply.status, 200u) << reply.body;
      auto version = json::parse(reply.body).at("version").as_int64();
      auto one = get("/api/v1/admin/services/" + s);
      ASSERT_EQ(one.status, 200u) << one.body;
      auto doc = json::parse(one.body);
      EXPECT_EQ(doc.at("status").as_string(), want) << op << round;
      EXPECT_EQ(doc.at("version").as_int64(), version);
      EXPECT_EQ(one.header("etag"), std::to_string(version));
    }
  }
  auto unknown = get("/api/v1/admin/services/00000000-0000-4000-8000-"
                     "000000000000");
  EXPECT_EQ(unknown.status, 404u) << unknown.body;
}

// A lifecycle command answers with the service as the command left it: its
// fields, its new version in the body and as ETag, and a position at or past
// its event; If-Match with a stale version is 412 problem+json and writes
// nothing.
TEST_F(list_test, a_command_answers_the_service_it_left_and_honours_if_match) {
  auto s = service(client("c"), product("p"), true);
  auto before = get("/api/v1/admin/services/" + s);
  ASSERT_EQ(before.status, 200u) << before.body;
  auto was = json::parse(before.body).as_object();
  auto version = was.at("version").as_int64();
  EXPECT_EQ(before.header("etag"), std::to_string(version));
  auto path = "/api/v1/admin/services/" + s + "/suspend";
  auto stale = conn_->request("POST", path, "{}",
                              {{"Authorization", "Bearer " + owner_},
                               {"If-Match", std::to_string(version - 1)}});
  EXPECT_EQ(stale.status, 412u) << stale.body;
  EXPECT_EQ(stale.header("content-type"), "application/problem+json");
  EXPECT_EQ(json::parse(stale.body).at("status").as_int64(), 412);
  auto unchanged = get("/api/v1/admin/services/" + s);
  EXPECT_EQ(json::parse(unchanged.body).at("version").as_int64(), version);
  auto reply
    = conn_->request("POST", path, R"({"reason":"test"})",
                     {{"Authorization", "Bearer " + owner_},
                      {"If-Match", "\"" + std::to_string(version) + "\""}});
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "application/json");
  auto doc = json::parse(reply.body).as_object();
  EXPECT_EQ(doc.at("id"), was.at("id"));
  EXPECT_EQ(doc.at("client_id"), was.at("client_id"));
  EXPECT_EQ(doc.at("product_id"), was.at("product_id"));
  EXPECT_EQ(doc.at("status").as_string(), "suspended");
  EXPECT_EQ(doc.at("provision_status").as_string(), "completed");
  EXPECT_TRUE(doc.at("pending_operation").is_null());
  EXPECT_TRUE(doc.at("job_id").is_null());
  EXPECT_TRUE(doc.at("service_data").is_object());
  EXPECT_EQ(doc.at("version").as_int64(), version + 1);
  EXPECT_EQ(reply.header("etag"), std::to_string(version + 1));
  auto events = get("/api/v1/admin/streams/service-" + s);
  ASSERT_EQ(events.status, 200u) << events.body;
  auto items = json::parse(events.body).at("items").as_array();
  ASSERT_FALSE(items.empty());
  EXPECT_EQ(items.back().at("type").as_string(), "service.suspended");
  EXPECT_GE(std::stoll(reply.header("x-billow-position")),
            items.back().at("position").as_int64());
  // The next read sees what the command answered.
  auto after = get("/api/v1/admin/services/" + s
                   + "?min_position=" + reply.header("x-billow-position"));
  ASSERT_EQ(after.status, 200u) << after.body;
  auto now = json::parse(after.body).as_object();
  for (auto key : {"id", "status", "provision_status", "pending_operation",
                   "job_id", "version", "service_data"})
    EXPECT_EQ(now.at(key), doc.at(key)) << key;
  // A refused command is problem+json too (409: not suspended twice).
  auto again = post(path, {});
  EXPECT_EQ(again.status, 409u) << again.body;
  EXPECT_EQ(again.header("content-type"), "application/problem+json");
}

TEST_F(list_test, a_position_not_reached_in_time_is_504_problem) {
  auto head = std::stoull(
    post("/api/v1/admin/clients",
         {{"name", "c"}, {"email", "c@x.test"}, {"currency", "EUR"}})
      .header("x-billow-position"));
  for (auto path : {"/api/v1/admin/services", "/api/v1/admin/clients",
                    "/api/v1/admin/products", "/api/v1/admin/jobs",
                    "/api/v1/admin/services/"}) {
    std::string target = path;
    if (target.back() == '/')
      target += seeded_service_;
    auto t0 = std::chrono::steady_clock::now();
    auto reply = get(target + "?min_position=" + std::to_string(head + 1000));
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(reply.status, 504u) << target << ": " << reply.body;
    EXPECT_EQ(reply.header("content-type"), "application/problem+json");
    EXPECT_GE(took, std::chrono::milliseconds(300));
    EXPECT_LT(took, std::chrono::seconds(5));
    EXPECT_EQ(get(target + "?min_position=" + std::to_string(head)).status,
              200u)
      << target;
  }
}

TEST_F(list_test, bad_query_values_are_422_with_fields_and_change_nothing) {
  auto before = get("/api/v1/admin/events?limit=1000");
  for (auto [target, field] : {
         std::pair{"/api/v1/admin/services?limit=0", "limit"},
         {"/api/v1/admin/services?limit=1001", "limit"},
         {"/api/v1/admin/services?limit=ten", "limit"},
         {"/api/v1/admin/services?limit=", "limit"},
         {"/api/v1/admin/services?cursor=not-a-cursor!", "cursor"},
         {"/api/v1/admin/services?cursor=AAAAAAAAAAAAAAAAAAAA", "cursor"},
         {"/api/v1/admin/services?status=frozen", "status"},
         {"/api/v1/admin/services?client_id=42", "client_id"},
         {"/api/v1/admin/services?product_id=x", "product_id"},
         {"/api/v1/admin/services?min_position=-1", "min_position"},
         {"/api/v1/admin/clients?limit=-5", "limit"},
         {"/api/v1/admin/products?cursor=%00", "cursor"},
         {"/api/v1/admin/jobs?status=done", "status"},
         {"/api/v1/admin/jobs?tag=", "tag"},
         {"/api/v1/admin/jobs?min_position=1e9", "min_position"},
       }) {
    auto reply = get(target);
    ASSERT_EQ(reply.status, 422u) << target << ": " << reply.body;
    EXPECT_EQ(reply.header("content-type"), "application/problem+json");
    auto errors = json::parse(reply.body).at("errors").as_array();
    ASSERT_FALSE(errors.empty()) << target;
    EXPECT_EQ(errors[0].at("field").as_string(), field) << target;
  }
  auto after = get("/api/v1/admin/events?limit=1000");
  EXPECT_EQ(json::parse(before.body).at("items").as_array().size(),
            json::parse(after.body).at("items").as_array().size());
  EXPECT_EQ(get("/healthz").status, 200u);
}

TEST_F(list_test, lists_need_a_token_and_the_read_permission) {
  for (auto path : {"/api/v1/admin/services", "/api/v1/admin/clients",
                    "/api/v1/admin/products", "/api/v1/admin/jobs"}) {
    EXPECT_EQ(conn_->request("GET", path).status, 401u) << path;
    EXPECT_EQ(get(path, reader_).status, 200u) << path;
    EXPECT_EQ(get(path, "not-a-token").status, 401u) << path;
  }
}

TEST_F(list_test, service_data_comes_from_the_projection_redacted_for_readers) {
  auto owner = get("/api/v1/admin/services/" + seeded_service_);
  ASSERT_EQ(owner.status, 200u) << owner.body;
  auto data = json::parse(owner.body).at("service_data").as_object();
  EXPECT_EQ(data.at("db_name").as_string(), "acme_1");
  EXPECT_EQ(data.at("db_password").as_string(), "hunter22");
  auto reader = get("/api/v1/admin/services/" + seeded_service_, reader_);
  ASSERT_EQ(reader.status, 200u);
  data = json::parse(reader.body).at("service_data").as_object();
  EXPECT_EQ(data.at("db_name").as_string(), "acme_1");
  EXPECT_NE(data.at("db_password").as_string(), "hunter22");
  auto listed = get("/api/v1/admin/services?status=active", reader_);
  EXPECT_EQ(listed.body.find("hunter22"), std::string::npos);
  EXPECT_NE(get("/api/v1/admin/services?status=active").body.find("hunter22"),
            std::string::npos);
}

TEST_F(list_test, jobs_filter_by_status_and_tag) {
  const std::string path = "/api/v1/admin/jobs";
  EXPECT_EQ(ids(path, "", 3), jobs_);
  EXPECT_EQ(ids(path, "&status=completed", 1),
            (std::vector<std::string>{jobs_[0], jobs_[3]}));
  EXPECT_EQ(ids(path, "&status=failed", 1),
            (std::vector<std::string>{jobs_[1], jobs_[2]}));
  EXPECT_TRUE(ids(path, "&status=running", 1).empty());
  EXPECT_TRUE(ids(path, "&status=queued", 1).empty());
  EXPECT_EQ(ids(path, "&tag=create", 1),
            (std::vector<std::string>{jobs_[0], jobs_[2]}));
  EXPECT_EQ(ids(path, "&tag=create&status=failed", 2),
            std::vector<std::string>{jobs_[2]});
  EXPECT_TRUE(ids(path, "&tag=nothing", 2).empty());
  auto item = json::parse(get(path + "?status=failed&limit=1").body)
                .at("items")
                .at(0)
                .as_object();
  EXPECT_EQ(item.at("error").as_string(), "refused");
  EXPECT_EQ(item.at("method").as_string(), "suspend_job");
  EXPECT_EQ(item.at("tags").at(0).as_string(), "suspend");
  EXPECT_EQ(ids(path, "&tag=terminate&status=completed", 2),
            std::vector<std::string>{jobs_[3]});
  // A job's result holds service data: redacted for a reader.
  auto done = get(path + "?status=completed", reader_);
  EXPECT_EQ(done.body.find("s3cret"), std::string::npos) << done.body;
  EXPECT_NE(get(path + "?status=completed").body.find("s3cret"),
            std::string::npos);
  // And so is one job's.
  auto one = get(path + "/" + jobs_[0], reader_);
  ASSERT_EQ(one.status, 200u) << one.body;
  EXPECT_EQ(one.body.find("s3cret"), std::string::npos) << one.body;
  EXPECT_EQ(
    json::parse(one.body).at("result").at("service_data").at("db_password"),
    "[redacted]");
  EXPECT_NE(get(path + "/" + jobs_[0]).body.find("s3cret"), std::string::npos);
}

TEST_F(list_test, readyz_and_metrics_report_the_projections) {
  auto ready = get("/readyz");
  ASSERT_EQ(ready.status, 200u) << ready.body;
  auto checks = json::parse(ready.body).at("checks").as_object();
  EXPECT_EQ(checks.at("projection_provisioning").as_string(), "ok");
  EXPECT_EQ(checks.at("projection_jobs").as_string(), "ok");
  auto metrics = get("/metrics").body;
  EXPECT_NE(
    metrics.find("billow_projection_lag_events{projection=\"provisioning\"} 0"),
    std::string::npos)
    << metrics;
  EXPECT_NE(metrics.find("billow_projection_lag_events{projection=\"jobs\"} 0"),
            std::string::npos);
}
