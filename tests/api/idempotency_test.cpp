// Idempotency-Key on every POST, as an API consumer retrying over a flaky
// network relies on it: same key and request, same answer and one set of
// events, also after a restart; the same key for another request refused.

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "api/idempotency.hpp"
#include "api/json_body.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

using billow::test::http_connection;
using billow::test::http_reply;

namespace {

class idempotency_test : public ::testing::Test {
protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    std::filesystem::create_directories(data_);
    {
      auto store = billow::api::open_data_dir(data_);
      ASSERT_TRUE(store);
      for (auto email : {"one@example.com", "two@example.com"})
        ASSERT_TRUE(billow::api::create_admin(**store, email, "a-long-password",
                                              "owner"));
    }
    start();
  }

  void start() {
    billow::api::application_options opts;
    opts.http.port = 0;
    opts.runtime.scheduler_threads = 2;
    opts.data_dir = data_;
    opts.clock = billow::actors::clock_kind::manual;
    app_ = std::make_unique<billow::api::application>(opts);
    ASSERT_FALSE(app_->start());
    conn_ = std::make_unique<http_connection>(app_->port());
    tokens_.clear();
    for (auto email : {"one@example.com", "two@example.com"}) {
      auto reply
        = conn_->request("POST", "/api/v1/auth/admin/token",
                         boost::json::serialize(boost::json::object{
                           {"email", email}, {"password", "a-long-password"}}));
      ASSERT_EQ(reply.status, 200u) << reply.body;
      tokens_.emplace_back(
        boost::json::parse(reply.body).at("token").as_string());
    }
  }

  void restart() {
    conn_.reset();
    app_.reset();
    start();
  }

  http_reply post(const std::string& target, const std::string& body,
                  const std::string& key, size_t admin = 0) {
    std::vector<std::pair<std::string, std::string>> headers{
      {"Authorization", "Bearer " + tokens_.at(admin)},
      {"Content-Type", "application/json"}};
    if (!key.empty())
      headers.emplace_back("Idempotency-Key", key);
    return conn_->request("POST", target, body, headers);
  }

  /// The log's last position, as the events page names it.
  uint64_t log_end() {
    auto reply = conn_->request("GET", "/api/v1/admin/events?limit=1", {},
                                {{"Authorization", "Bearer " + tokens_.at(0)}});
    EXPECT_EQ(reply.status, 200u) << reply.body;
    return boost::json::parse(reply.body)
      .at("last_position")
      .to_number<uint64_t>();
  }

  billow::test::temp_dir dir_{"idempotency"};
  std::filesystem::path data_;
  std::unique_ptr<billow::api::application> app_;
  std::unique_ptr<http_connection> conn_;
  std::vector<std::string> tokens_;
};

const std::string ada = R"({"name":"Ada","email":"ada@example.com",)"
                        R"("currency":"EUR"})";
const std::string grace = R"({"name":"Grace","email":"g@example.com",)"
                          R"("currency":"EUR"})";

TEST_F(idempotency_test, a_retry_gets_the_first_answer_and_writes_nothing) {
  auto first = post("/api/v1/admin/clients", ada, "order-1");
  ASSERT_EQ(first.status, 201u) << first.body;
  EXPECT_EQ(first.header("idempotent-replayed"), "");
  auto end = log_end();
  auto again = post("/api/v1/admin/clients", ada, "order-1");
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(log_end(), end);
  // Without a key, the same body is a new client.
  auto other = post("/api/v1/admin/clients", ada, "");
  ASSERT_EQ(other.status, 201u);
  EXPECT_NE(boost::json::parse(other.body).at("id"),
            boost::json::parse(first.body).at("id"));
}

TEST_F(idempotency_test, the_same_key_for_another_request_is_refused) {
  ASSERT_EQ(post("/api/v1/admin/clients", ada, "k").status, 201u);
  auto end = log_end();
  auto reused = post("/api/v1/admin/clients", grace, "k");
  EXPECT_EQ(reused.status, 422u) << reused.body;
  EXPECT_EQ(reused.header("content-type"), "application/problem+json");
  auto elsewhere = post("/api/v1/admin/clock/advance", R"({"seconds":1})", "k");
  EXPECT_EQ(elsewhere.status, 422u) << elsewhere.body;
  EXPECT_EQ(log_end(), end);
  auto too_long = post("/api/v1/admin/clients", grace, std::string(256, 'x'));
  EXPECT_EQ(too_long.status, 400u) << too_long.body;
  EXPECT_EQ(log_end(), end);
}

// A POST that writes no event (the manual clock) runs once per key too.
TEST_F(idempotency_test, a_command_without_events_runs_once_per_key) {
  auto first = post("/api/v1/admin/clock/advance", R"({"seconds":60})", "t1");
  ASSERT_EQ(first.status, 200u) << first.body;
  auto again = post("/api/v1/admin/clock/advance", R"({"seconds":60})", "t1");
  EXPECT_EQ(again.body, first.body);
  auto next = post("/api/v1/admin/clock/advance", R"({"seconds":60})", "t2");
  ASSERT_EQ(next.status, 200u);
  auto at = [](const http_reply& r) {
    return billow::api::parse_rfc3339(
      boost::json::parse(r.body).at("now").as_string());
  };
  ASSERT_TRUE(at(first) && at(next));
  // Two advances of 60 s happened, not three.
  EXPECT_EQ(*at(next) - *at(first), 60'000'000);
}

TEST_F(idempotency_test, keys_are_per_caller_and_survive_a_restart) {
  auto mine = post("/api/v1/admin/clients", ada, "shared-key", 0);
  ASSERT_EQ(mine.status, 201u);
  auto theirs = post("/api/v1/admin/clients", ada, "shared-key", 1);
  ASSERT_EQ(theirs.status, 201u);
  EXPECT_NE(boost::json::parse(theirs.body).at("id"),
            boost::json::parse(mine.body).at("id"));
  restart();
  auto end = log_end();
  auto replayed = post("/api/v1/admin/clients", ada, "shared-key", 0);
  EXPECT_EQ(replayed.status, 201u);
  EXPECT_EQ(replayed.body, mine.body);
  EXPECT_EQ(replayed.header("idempotent-replayed"), "true");
  EXPECT_EQ(log_end(), end);
}

/// The kept answers on disk, by key (caller, newline, Idempotency-Key), with
/// the time each was kept.
std::map<std::string, int64_t>
kept_answers(billow::events::event_store& store) {
  std::map<std::string, int64_t> out;
  auto* cf = store.column_family(billow::api::idempotency_family);
  EXPECT_NE(cf, nullptr);
  std::unique_ptr<rocksdb::Iterator> it{
    store.db().NewIterator(rocksdb::ReadOptions{}, cf)};
  for (it->SeekToFirst(); it->Valid(); it->Next())
    out[it->key().ToString()] = boost::json::parse(it->value().ToString())
                                  .at("at_us")
                                  .to_number<int64_t>();
  EXPECT_TRUE(it->status().ok());
  return out;
}

bool has_key(const std::map<std::string, int64_t>& kept,
             const std::string& key) {
  return std::any_of(kept.begin(), kept.end(), [&](const auto& kv) {
    return kv.first.ends_with("\n" + key);
  });
}

// A kept answer lasts a day. A retry after that runs again, and since the
// event ids come from the key it names the same client and writes nothing;
// compaction then drops the expired answers from disk.
TEST_F(idempotency_test, answers_expire_after_a_day_and_compaction_drops_them) {
  auto first = post("/api/v1/admin/clients", ada, "order-old");
  ASSERT_EQ(first.status, 201u) << first.body;
  ASSERT_EQ(post("/api/v1/admin/clients", grace, "order-stale").status, 201u);
  auto end = log_end();
  ASSERT_EQ(
    post("/api/v1/admin/clock/advance", R"({"seconds":90000})", "").status,
    200u);
  auto late = post("/api/v1/admin/clients", ada, "order-old");
  ASSERT_EQ(late.status, 201u) << late.body;
  EXPECT_EQ(late.header("idempotent-replayed"), "");
  EXPECT_EQ(boost::json::parse(late.body).at("id"),
            boost::json::parse(first.body).at("id"));
  EXPECT_EQ(log_end(), end);
  // The retry's answer is kept anew.
  EXPECT_EQ(post("/api/v1/admin/clients", ada, "order-old")
              .header("idempotent-replayed"),
            "true");
  conn_.reset();
  app_.reset();

  // The server's store with the same filter, as of the newest answer's time.
  std::map<std::string, int64_t> before;
  {
    billow::events::store_options opts;
    opts.dir = billow::api::log_dir(data_).string();
    opts.extra_column_families = {billow::api::idempotency_family};
    auto store = billow::events::event_store::open(opts);
    ASSERT_TRUE(store);
    before = kept_answers(**store);
  }
  ASSERT_TRUE(has_key(before, "order-stale"));
  ASSERT_TRUE(has_key(before, "order-old"));
  int64_t newest = 0;
  for (const auto& kv : before)
    newest = std::max(newest, kv.second);
  billow::events::store_options opts;
  opts.dir = billow::api::log_dir(data_).string();
  opts.extra_column_families = {billow::api::idempotency_family};
  opts.compaction_filters[billow::api::idempotency_family]
    = {billow::api::make_expired_answers_filter([newest] {
         return newest;
       }),
       billow::api::idempotency_retention};
  auto store = billow::events::event_store::open(opts);
  ASSERT_TRUE(store);
  auto& db = (*store)->db();
  auto* cf = (*store)->column_family(billow::api::idempotency_family);
  // Its files are compacted again at least once per answers' lifetime.
  EXPECT_EQ(db.GetOptions(cf).periodic_compaction_seconds,
            static_cast<uint64_t>(billow::api::idempotency_retention.count()));
  ASSERT_TRUE(
    db.CompactRange(rocksdb::CompactRangeOptions{}, cf, nullptr, nullptr).ok());
  auto after = kept_answers(**store);
  EXPECT_FALSE(has_key(after, "order-stale"));
  EXPECT_TRUE(has_key(after, "order-old"));
  EXPECT_EQ(after.size(), before.size() - 1);
}

} // namespace
