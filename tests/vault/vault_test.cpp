// The vault: credentials beside the log, personal values encrypted with a
// key per client and erasable by destroying that key, and the migration of
// data directories whose old events hold password hashes.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "tests/support/temp_dir.hpp"
#include "vault/vault.hpp"

namespace {

using namespace billow;

constexpr const char* old_hash = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$"
                                 "RdescudvJCsgt3ub+b+dWRWJTmaaJObG";

/// A data directory's log and keys, opened with the vault's families.
struct data_dir {
  test::temp_dir dir{"vault"};
  std::unique_ptr<events::event_store> store;

  void open() {
    store.reset();
    events::store_options opts;
    opts.dir = dir.sub("log");
    opts.extra_column_families = vault::vault_column_families();
    auto s = events::event_store::open(std::move(opts));
    ASSERT_TRUE(s) << to_string(s.error());
    store = std::move(*s);
  }

  vault::stores open_vault() {
    auto v = vault::open_vault(*store, dir.path() / "keys");
    EXPECT_TRUE(v) << to_string(v.error());
    return v ? *v : vault::stores{};
  }

  uint64_t append(const std::string& stream, const std::string& type,
                  const boost::json::object& payload, uint32_t schema = 1) {
    events::new_event ev;
    ev.event_id = events::uuid::random();
    ev.type = type;
    ev.schema = schema;
    ev.actor = "system";
    ev.payload = boost::json::serialize(payload);
    std::vector<events::new_event> batch{ev};
    auto res = store->append(stream, events::expected_version::any(),
                             std::move(batch));
    EXPECT_TRUE(res) << (res ? "" : to_string(res.error()));
    return res ? res->last_position : 0;
  }

  /// Every byte of every file of the data directory.
  std::string raw_bytes() const {
    std::string all;
    for (const auto& f :
         std::filesystem::recursive_directory_iterator(dir.path()))
      if (f.is_regular_file()) {
        std::ifstream in{f.path(), std::ios::binary};
        all.append(std::istreambuf_iterator<char>(in), {});
      }
    return all;
  }
};

TEST(credential_store_test, keeps_sealed_credentials_by_event_and_erases) {
  data_dir d;
  d.open();
  auto v = d.open_vault();
  auto first = events::uuid::random(), second = events::uuid::random();
  ASSERT_FALSE(v.credentials->put("client-1", "password", first, "secret-1"));
  ASSERT_FALSE(v.credentials->put("client-1", "password", second, "secret-2"));
  ASSERT_FALSE(v.credentials->put("client-2", "password", first, "other"));
  EXPECT_EQ(*v.credentials->get("client-1", "password", first), "secret-1");
  EXPECT_EQ(*v.credentials->get("client-1", "password", second), "secret-2");
  auto missing = v.credentials->get("client-1", "totp", first);
  ASSERT_FALSE(missing);
  EXPECT_EQ(errc_of(missing.error()), billow_errc::not_found);
  // put_if_absent keeps what is there.
  ASSERT_FALSE(
    v.credentials->put_if_absent("client-1", "password", first, "replaced"));
  EXPECT_EQ(*v.credentials->get("client-1", "password", first), "secret-1");

  ASSERT_FALSE(v.credentials->erase_subject("client-1"));
  EXPECT_FALSE(v.credentials->get("client-1", "password", first));
  EXPECT_FALSE(v.credentials->get("client-1", "password", second));
  EXPECT_EQ(*v.credentials->get("client-2", "password", first), "other");
  // Sealed on disk: the secret's bytes are in no file.
  d.store->db().Flush({});
  EXPECT_EQ(d.raw_bytes().find("other"), std::string::npos);
}

TEST(personal_data_test, seals_reveals_and_erases_per_subject) {
  data_dir d;
  d.open();
  auto v = d.open_vault();
  auto& pd = *v.personal;
  auto ada = pd.seal("client-ada", "Ada Lovelace");
  auto bob = pd.seal("client-bob", "Bob Babbage");
  ASSERT_TRUE(ada && bob);
  EXPECT_TRUE(vault::personal_data::is_personal(*ada));
  EXPECT_EQ(vault::personal_data::subject_of(*ada), "client-ada");
  EXPECT_EQ(ada->find("Ada"), std::string::npos);
  EXPECT_EQ(pd.reveal(*ada), "Ada Lovelace");
  // Two seals of one text differ (a fresh nonce each).
  EXPECT_NE(*pd.seal("client-ada", "Ada Lovelace"), *ada);
  // Text that is not a personal value passes through.
  EXPECT_EQ(pd.reveal("EUR"), "EUR");

  // A value moved to another subject does not open with that one's key.
  std::string moved = *ada;
  moved.replace(vault::personal_prefix.size(), std::string{"client-ada"}.size(),
                "client-bob");
  EXPECT_EQ(pd.reveal(moved), vault::erased_text);

  boost::json::value doc = {{"name", *ada},
                            {"items", boost::json::array{*bob, "plain"}}};
  pd.reveal_all(doc);
  EXPECT_EQ(doc.at("name").as_string(), "Ada Lovelace");
  EXPECT_EQ(doc.at("items").as_array()[0].as_string(), "Bob Babbage");
  EXPECT_EQ(doc.at("items").as_array()[1].as_string(), "plain");

  ASSERT_FALSE(pd.erase("client-ada"));
  EXPECT_TRUE(pd.is_erased("client-ada"));
  EXPECT_EQ(pd.reveal(*ada), vault::erased_text);
  EXPECT_EQ(pd.reveal(*bob), "Bob Babbage");
  auto again = pd.seal("client-ada", "Ada again");
  ASSERT_FALSE(again);
  EXPECT_EQ(errc_of(again.error()), billow_errc::invalid_transition);
  EXPECT_FALSE(pd.erase("client-ada")); // erasing twice does nothing

  std::string text
    = boost::json::serialize(boost::json::object{{"a", *ada}, {"b", *bob}});
  pd.reveal_text(text);
  EXPECT_EQ(text, R"({"a":"[erased]","b":"Bob Babbage"})");

  // A restart forgets nothing: the erasure holds, the other key opens.
  v = {};
  d.open();
  auto reopened = d.open_vault();
  EXPECT_EQ(reopened.personal->reveal(*ada), vault::erased_text);
  EXPECT_EQ(reopened.personal->reveal(*bob), "Bob Babbage");
}

TEST(vault_migration_test, old_hashes_move_out_and_reads_never_show_them) {
  data_dir d;
  d.open();
  auto admin_pos = d.append("admin-a1", "admin.created",
                            {{"email", "old@example.com"},
                             {"password_hash", old_hash},
                             {"group", "owner"}});
  d.append("client-c1", "client.created",
           {{"name", "Old Client"},
            {"email", "c@example.com"},
            {"currency", "EUR"},
            {"password_hash", old_hash}});
  d.append(
    "client-c2", "client.created",
    {{"name", "No Login"}, {"email", "n@example.com"}, {"currency", "EUR"}});
  auto raw_before = d.store->read_event(admin_pos);
  ASSERT_TRUE(raw_before);
  EXPECT_NE(raw_before->payload.find("argon2id"), std::string::npos);

  auto v = d.open_vault();
  auto admin_ev = d.store->read_event(admin_pos);
  ASSERT_TRUE(admin_ev);
  EXPECT_EQ(admin_ev->schema, 2u);
  auto payload = boost::json::parse(admin_ev->payload).as_object();
  EXPECT_FALSE(payload.contains("password_hash")) << admin_ev->payload;
  EXPECT_TRUE(payload.at("login").as_bool());
  EXPECT_EQ(payload.at("email").as_string(), "old@example.com");
  EXPECT_EQ(*v.credentials->get("admin-a1", "password", admin_ev->event_id),
            old_hash);
  // Every read path goes through the upcaster: streams, queries, the log.
  auto all = d.store->read_all(1, 100);
  ASSERT_TRUE(all);
  for (const auto& ev : *all)
    EXPECT_EQ(ev.payload.find("argon2"), std::string::npos) << ev.payload;
  events::log_query q;
  q.type = "client.created";
  auto page = d.store->query(q);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_TRUE(
    boost::json::parse(page->events[0].payload).at("login").as_bool());
  EXPECT_FALSE(
    boost::json::parse(page->events[1].payload).as_object().contains("login"));
  // The log's bytes did not change: its hash chain still verifies.
  auto report = d.store->verify(1, d.store->last_position());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());

  // A second start moves nothing again and reads the same.
  v = {};
  d.open();
  auto again = d.open_vault();
  auto ev2 = d.store->read_event(admin_pos);
  EXPECT_EQ(ev2->payload, admin_ev->payload);
  EXPECT_EQ(*again.credentials->get("admin-a1", "password", ev2->event_id),
            old_hash);
}

TEST(vault_migration_test, an_erased_client_s_old_plaintext_reads_erased) {
  data_dir d;
  d.open();
  auto pos = d.append("client-c1", "client.created",
                      {{"name", "Plain Name"},
                       {"email", "plain@example.com"},
                       {"currency", "EUR"}});
  auto v = d.open_vault();
  // Its key record exists once anything was sealed for it; erasing makes
  // the tombstone that the upcaster checks.
  ASSERT_TRUE(v.personal->seal("client-c1", "x"));
  d.append("client-c1", "client.erased", {{"reason", "asked"}});
  ASSERT_FALSE(v.personal->erase("client-c1"));
  auto ev = d.store->read_event(pos);
  ASSERT_TRUE(ev);
  auto payload = boost::json::parse(ev->payload).as_object();
  EXPECT_EQ(payload.at("name").as_string(), "[erased]");
  EXPECT_EQ(payload.at("email").as_string(), "[erased]");
  EXPECT_EQ(payload.at("currency").as_string(), "EUR");
}

TEST(vault_migration_test, an_interrupted_erasure_completes_at_the_next_start) {
  data_dir d;
  d.open();
  std::string sealed;
  {
    auto v = d.open_vault();
    sealed = *v.personal->seal("client-c9", "Crash Test");
    // The event committed, then the process died before the key went.
    d.append("client-c9", "client.erased", {{"reason", "asked"}});
  }
  d.open();
  auto v = d.open_vault();
  EXPECT_TRUE(v.personal->is_erased("client-c9"));
  EXPECT_EQ(v.personal->reveal(sealed), vault::erased_text);
}

TEST(vault_test, seal_fields_encrypts_only_the_personal_strings) {
  data_dir d;
  d.open();
  auto v = d.open_vault();
  boost::json::object client{{"name", "Ada"},
                             {"email", "ada@example.com"},
                             {"currency", "EUR"},
                             {"login", true}};
  ASSERT_FALSE(vault::seal_fields(*v.personal, "client-x", client));
  EXPECT_TRUE(vault::personal_data::is_personal(client.at("name").as_string()));
  EXPECT_TRUE(
    vault::personal_data::is_personal(client.at("email").as_string()));
  EXPECT_EQ(client.at("currency").as_string(), "EUR");
  // Sealing again leaves sealed values as they are.
  auto once = client;
  ASSERT_FALSE(vault::seal_fields(*v.personal, "client-x", client));
  EXPECT_EQ(client, once);
}

} // namespace
