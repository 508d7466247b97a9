// The provisioning and jobs projections over a real RocksDB store: apply,
// catch-up in batches, the checkpoint committed with the read model, reload
// after reopening, rebuild, filters and pagination, bounded waits.

#include <algorithm>
#include <thread>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "actors/runtime.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"
#include "projections/client_directory.hpp"
#include "projections/jobs.hpp"
#include "projections/known.hpp"
#include "projections/provisioning.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using namespace billow::events;
using namespace billow::projections;
namespace json = boost::json;

namespace {

class projection_test : public ::testing::Test {
protected:
  void SetUp() override {
    open();
  }

  void open() {
    store_options opts;
    opts.dir = dir_.sub("db");
    opts.extra_column_families = projection_column_families();
    auto s = event_store::open(opts);
    ASSERT_TRUE(s) << to_string(s.error());
    store_ = std::move(*s);
  }

  void reopen() {
    store_.reset();
    open();
  }

  /// One event by the test admin.
  static new_event event(const std::string& type, const json::object& payload) {
    new_event ev;
    ev.event_id = uuid::random();
    ev.type = type;
    ev.actor = "admin:test";
    ev.payload = json::serialize(payload);
    return ev;
  }

  void append(const std::string& stream, const std::string& type,
              const json::object& payload) {
    std::vector<new_event> evs{event(type, payload)};
    auto res = store_->append(stream, expected_version::any(), evs);
    ASSERT_TRUE(res) << to_string(res.error());
  }

  std::string client(const std::string& name) {
    auto id = to_string(uuid::random());
    append("client-" + id, "client.created",
           {{"name", name}, {"email", name + "@x.test"}, {"currency", "EUR"}});
    return id;
  }

  std::string product(const std::string& name) {
    auto id = to_string(uuid::random());
    append("product-" + id, "product.created",
           {{"name", name}, {"module", nullptr}, {"product_data", {}}});
    return id;
  }

  std::string service(const std::string& client, const std::string& product) {
    auto id = to_string(uuid::random());
    append("service-" + id, "service.opened",
           {{"client_id", client}, {"product_id", product}, {"module", ""}});
    return id;
  }

  void op(const std::string& id, const std::string& type) {
    append("service-" + id, type, {{"reason", "test"}, {"manual", true}});
  }

  /// `n` services of one client and product, written in one group: each
  /// opened, provisioned, then suspended and unsuspended 2 + i % 5 times
  /// (so those with i % 5 in {1, 3} end suspended).
  void many_services(int n) {
    auto c = client("a");
    auto p = product("p");
    std::vector<append_request> reqs;
    for (int i = 0; i < n; ++i) {
      auto stream = "service-" + to_string(uuid::random());
      std::vector<new_event> evs{
        event("service.opened", {{"client_id", c}, {"product_id", p}}),
        event("service.provisioned", {{"manual", true}})};
      for (int k = 0; k < 2 + i % 5; ++k)
        evs.push_back(
          event(k % 2 == 0 ? "service.suspended" : "service.unsuspended",
                {{"manual", true}}));
      reqs.push_back({stream, expected_version::any(), std::move(evs)});
    }
    for (auto& r : store_->append_group(reqs, durability::sync))
      ASSERT_TRUE(r) << to_string(r.error());
  }

  /// Every service of `p` as JSON text, in list order.
  static std::string dump(const provisioning& p) {
    json::array out;
    auto page = p.services({}, 0, 1000);
    for (auto& row : page.items)
      out.push_back({{"id", row.id},
                     {"status", actors::to_string(row.state.status)},
                     {"client", to_string(row.state.client_id)},
                     {"product", to_string(row.state.product_id)},
                     {"data", row.service_data},
                     {"version", row.version},
                     {"seq", row.seq}});
    for (auto& row : p.clients(0, 1000).items)
      out.push_back({{"client", row.id}, {"fields", row.fields}});
    for (auto& row : p.products(0, 1000).items)
      out.push_back({{"product", row.id}, {"fields", row.fields}});
    return json::serialize(out);
  }

  test::temp_dir dir_{"projections"};
  std::unique_ptr<event_store> store_;
};

} // namespace

TEST_F(projection_test, folds_services_clients_and_products_from_the_log) {
  auto c = client("acme");
  auto p1 = product("small");
  auto p2 = product("large");
  auto s = service(c, p1);
  op(s, "service.provisioned");
  op(s, "service.suspended");
  append("service-" + s, "service.package_changed",
         {{"new_product_id", p2}, {"manual", true}});
  append("client-" + c, "client.updated", {{"name", "Acme Ltd"}});
  provisioning proj;
  ASSERT_FALSE(proj.load(*store_));
  ASSERT_FALSE(proj.catch_up(*store_, {.events = 2}));
  EXPECT_EQ(proj.position(), store_->last_position());
  auto row = proj.service(s);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state.status, actors::service_status::suspended);
  EXPECT_EQ(row->state.provision, actors::provision_status::completed);
  EXPECT_EQ(to_string(row->state.product_id), p2);
  EXPECT_EQ(row->version, 4u);
  auto clients = proj.clients(0, 10);
  ASSERT_EQ(clients.items.size(), 1u);
  EXPECT_EQ(clients.items[0].fields.at("name").as_string(), "Acme Ltd");
  EXPECT_EQ(clients.items[0].fields.at("currency").as_string(), "EUR");
  EXPECT_EQ(clients.items[0].version, 2u);
  EXPECT_EQ(proj.products(0, 10).items.size(), 2u);
  // The product index moved with the package change.
  EXPECT_TRUE(proj.services({std::nullopt, "", p1}, 0, 10).items.empty());
  EXPECT_EQ(proj.services({std::nullopt, "", p2}, 0, 10).items.size(), 1u);
}

TEST_F(projection_test, product_data_is_what_the_product_events_left) {
  auto p = product("db-small"); // product_data {} at first
  append("product-" + p, "product.updated",
         {{"product_data", {{"host", "db1"}, {"port", 5432}}}});
  append("product-" + p, "product.updated", {{"name", "DB small"}});
  auto bare = to_string(uuid::random());
  append("product-" + bare, "product.created", {{"name", "no data"}});
  provisioning proj;
  ASSERT_FALSE(proj.load(*store_));
  ASSERT_FALSE(proj.catch_up(*store_));
  auto data = proj.product_data(p);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, (json::object{{"host", "db1"}, {"port", 5432}}));
  ASSERT_TRUE(proj.product_data(bare));
  EXPECT_TRUE(proj.product_data(bare)->empty());
  EXPECT_FALSE(proj.product_data(to_string(uuid::random())));
  // The service side: the data text, or nothing for an unknown service.
  auto s = service(client("a"), p);
  ASSERT_FALSE(proj.catch_up(*store_));
  EXPECT_EQ(proj.service_data(s), std::optional<std::string>{"{}"});
  EXPECT_FALSE(proj.service_data(to_string(uuid::random())));
}

TEST_F(projection_test, service_data_is_the_last_module_result_that_has_it) {
  auto s = service(client("a"), product("p"));
  auto result = [](const std::string& db) {
    return json::serialize(json::object{
      {"service_data", {{"db_name", db}, {"db_password", "pw-" + db}}}});
  };
  append("service-" + s, "service.provisioned",
         {{"job_id", to_string(uuid::random())}, {"result", result("one")}});
  op(s, "service.suspended");
  append("service-" + s, "service.suspend_failed", {{"error", "boom"}});
  provisioning proj;
  ASSERT_FALSE(proj.load(*store_));
  ASSERT_FALSE(proj.catch_up(*store_));
  auto data = json::parse(proj.service(s)->service_data).as_object();
  EXPECT_EQ(data.at("db_name").as_string(), "one");
  append("service-" + s, "service.package_changed",
         {{"result", result("two")}});
  ASSERT_FALSE(proj.catch_up(*store_));
  data = json::parse(proj.service(s)->service_data).as_object();
  EXPECT_EQ(data.at("db_name").as_string(), "two");
  EXPECT_EQ(proj.service(s)->state.last_error, "");
  // Stored and loaded back as it was.
  reopen();
  provisioning loaded;
  ASSERT_FALSE(loaded.load(*store_));
  EXPECT_EQ(json::parse(loaded.service(s)->service_data),
            json::parse(proj.service(s)->service_data));
  EXPECT_EQ(loaded.service(s)->version, proj.service(s)->version);
}

TEST_F(projection_test,
       checkpoint_and_read_model_agree_after_reopening_the_store) {
  auto c = client("a");
  auto p = product("p");
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    ids.push_back(service(c, p));
    op(ids.back(), "service.provisioned");
  }
  std::string committed;
  uint64_t checkpoint = 0;
  {
    provisioning proj;
    ASSERT_FALSE(proj.load(*store_));
    ASSERT_FALSE(proj.catch_up(*store_, {.events = 5}));
    checkpoint = proj.committed_position();
    EXPECT_EQ(checkpoint, store_->last_position());
    committed = dump(proj);
    // Applied but never committed: lost with the process.
    op(ids[0], "service.suspended");
    op(ids[1], "service.suspended");
    std::vector<envelope> tail;
    ASSERT_TRUE(store_->for_each(checkpoint + 1, UINT64_MAX,
                                 [&](const envelope& ev) {
                                   tail.push_back(ev);
                                   return true;
                                 })
                == caf::none);
    proj.apply(tail);
    EXPECT_EQ(proj.position(), store_->last_position());
    EXPECT_NE(dump(proj), committed);
  }
  reopen();
  auto cp = store_->load_checkpoint("projection.provisioning");
  ASSERT_TRUE(cp);
  EXPECT_EQ(*cp, checkpoint);
  provisioning loaded;
  ASSERT_FALSE(loaded.load(*store_));
  EXPECT_EQ(loaded.position(), checkpoint);
  EXPECT_EQ(dump(loaded), committed);
  // Catching up from the checkpoint gives what a full rebuild gives.
  ASSERT_FALSE(loaded.catch_up(*store_));
  EXPECT_EQ(loaded.service(ids[0])->state.status,
            actors::service_status::suspended);
  provisioning rebuilt;
  auto n = rebuilt.rebuild(*store_, {.events = 3});
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, store_->last_position());
  EXPECT_EQ(dump(rebuilt), dump(loaded));
}

TEST_F(projection_test, rebuild_drops_stale_records_and_the_checkpoint) {
  auto s = service(client("a"), product("p"));
  provisioning proj;
  ASSERT_FALSE(proj.load(*store_));
  ASSERT_FALSE(proj.catch_up(*store_));
  // A record no event explains: rebuild must drop it.
  rocksdb::WriteBatch junk;
  junk.Put(store_->column_family("proj_provisioning"), "s/not-a-service",
           R"({"seq":999,"state":{},"version":1})");
  ASSERT_FALSE(store_->write(junk, durability::sync));
  {
    provisioning with_junk;
    ASSERT_FALSE(with_junk.load(*store_));
    EXPECT_EQ(with_junk.service_count(), 2u);
  }
  ASSERT_TRUE(proj.rebuild(*store_));
  provisioning reloaded;
  ASSERT_FALSE(reloaded.load(*store_));
  EXPECT_EQ(reloaded.service_count(), 1u);
  EXPECT_TRUE(reloaded.service(s));
  EXPECT_EQ(reloaded.position(), store_->last_position());
}

TEST_F(projection_test, lists_filter_by_status_client_and_product_in_pages) {
  auto c1 = client("one");
  auto c2 = client("two");
  auto p1 = product("p1");
  auto p2 = product("p2");
  std::vector<std::string> all;
  for (int i = 0; i < 12; ++i) {
    auto s = service(i % 2 == 0 ? c1 : c2, i % 3 == 0 ? p1 : p2);
    all.push_back(s);
    if (i % 4 != 3)
      op(s, "service.provisioned");
    if (i % 4 == 1) {
      op(s, "service.suspended");
      op(s, "service.unsuspended");
      op(s, "service.suspended");
    }
  }
  provisioning proj;
  ASSERT_FALSE(proj.load(*store_));
  ASSERT_FALSE(proj.catch_up(*store_));
  auto collect = [&](const service_filter& f, size_t limit) {
    std::vector<std::string> out;
    uint64_t after = 0;
    for (int guard = 0; guard < 100; ++guard) {
      auto page = proj.services(f, after, limit);
      EXPECT_LE(page.items.size(), limit);
      for (auto& row : page.items)
        out.push_back(row.id);
      if (!page.next_after)
        break;
      EXPECT_EQ(page.items.size(), limit);
      after = *page.next_after;
    }
    return out;
  };
  auto expect = [&](auto pred) {
    std::vector<std::string> out;
    for (size_t i = 0; i < all.size(); ++i)
      if (pred(static_cast<int>(i)))
        out.push_back(all[i]);
    return out;
  };
  using st = actors::service_status;
  EXPECT_EQ(collect({}, 5), all);
  EXPECT_EQ(collect({st::suspended, "", ""}, 2), expect([](int i) {
              return i % 4 == 1;
            }));
  EXPECT_EQ(collect({st::active, "", ""}, 1), expect([](int i) {
              return i % 4 == 0 || i % 4 == 2;
            }));
  EXPECT_EQ(collect({st::pending, "", ""}, 10), expect([](int i) {
              return i % 4 == 3;
            }));
  EXPECT_EQ(collect({std::nullopt, c1, ""}, 4), expect([](int i) {
              return i % 2 == 0;
            }));
  EXPECT_EQ(collect({std::nullopt, "", p1}, 3), expect([](int i) {
              return i % 3 == 0;
            }));
  EXPECT_EQ(collect({st::active, c1, p2}, 1), expect([](int i) {
              return (i % 4 == 0 || i % 4 == 2) && i % 2 == 0 && i % 3 != 0;
            }));
  EXPECT_TRUE(collect({st::terminated, "", ""}, 3).empty());
  EXPECT_TRUE(
    collect({std::nullopt, to_string(uuid::random()), ""}, 3).empty());
  auto clients = proj.clients(0, 1);
  ASSERT_EQ(clients.items.size(), 1u);
  EXPECT_EQ(clients.items[0].id, c1);
  ASSERT_TRUE(clients.next_after);
  auto rest = proj.clients(*clients.next_after, 1);
  ASSERT_EQ(rest.items.size(), 1u);
  EXPECT_EQ(rest.items[0].id, c2);
  EXPECT_FALSE(rest.next_after);
}

TEST_F(projection_test, jobs_fold_status_attempts_and_tags) {
  auto job = [&](const std::string& tag) {
    auto id = to_string(uuid::random());
    append("job-" + id, "job.queued",
           {{"job_id", id},
            {"module", "Product/postgres"},
            {"method", "create_job"},
            {"service_id", to_string(uuid::random())},
            {"input", "{}"},
            {"tags", json::array{tag}},
            {"policy", {{"tries", 3}}}});
    append("job-" + id, "job.started", {{"attempt", 1}});
    return id;
  };
  auto ok = job("create");
  append("job-" + ok, "job.succeeded", {{"attempt", 1}, {"result", "{}"}});
  auto retrying = job("suspend");
  append("job-" + retrying, "job.attempt_failed",
         {{"attempt", 1}, {"kind", "error"}, {"error", "db down"}});
  append("job-" + retrying, "job.retry_scheduled",
         {{"attempt", 1}, {"at_us", 5}});
  auto failed = job("create");
  append("job-" + failed, "job.failed", {{"attempt", 1}, {"error", "gave up"}});
  auto running = job("terminate");
  jobs_projection proj;
  ASSERT_FALSE(proj.load(*store_));
  ASSERT_FALSE(proj.catch_up(*store_, {.events = 4}));
  EXPECT_EQ(proj.job_count(), 4u);
  auto ids = [](const page<job_row>& p) {
    std::vector<std::string> out;
    for (auto& r : p.items)
      out.push_back(r.id);
    return out;
  };
  using js = actors::job_status;
  EXPECT_EQ(ids(proj.jobs({js::completed, ""}, 0, 10)),
            std::vector<std::string>{ok});
  EXPECT_EQ(ids(proj.jobs({js::retrying, ""}, 0, 10)),
            std::vector<std::string>{retrying});
  EXPECT_EQ(ids(proj.jobs({js::failed, ""}, 0, 10)),
            std::vector<std::string>{failed});
  EXPECT_EQ(ids(proj.jobs({js::running, ""}, 0, 10)),
            std::vector<std::string>{running});
  EXPECT_EQ(ids(proj.jobs({std::nullopt, "create"}, 0, 10)),
            (std::vector<std::string>{ok, failed}));
  EXPECT_EQ(ids(proj.jobs({js::failed, "create"}, 0, 10)),
            std::vector<std::string>{failed});
  EXPECT_TRUE(proj.jobs({std::nullopt, "nope"}, 0, 10).items.empty());
  auto first = proj.jobs({}, 0, 3);
  ASSERT_TRUE(first.next_after);
  EXPECT_EQ(ids(proj.jobs({}, *first.next_after, 3)),
            std::vector<std::string>{running});
  auto row = proj.job(retrying);
  ASSERT_TRUE(row);
  ASSERT_EQ(row->state.view.failures.size(), 1u);
  EXPECT_EQ(row->state.view.failures[0].message, "db down");
  EXPECT_EQ(row->state.view.version, 4u);
  // The same after reopening: loaded from the column family.
  reopen();
  jobs_projection loaded;
  ASSERT_FALSE(loaded.load(*store_));
  EXPECT_EQ(loaded.position(), store_->last_position());
  EXPECT_EQ(ids(loaded.jobs({}, 0, 10)), ids(proj.jobs({}, 0, 10)));
  EXPECT_EQ(loaded.job(retrying)->state.view.failures.size(), 1u);
  EXPECT_EQ(ids(loaded.jobs({js::retrying, ""}, 0, 10)),
            std::vector<std::string>{retrying});
}

/// A wait for a position `model` has not applied ends after its timeout.
template <class Model>
void expect_wait_times_out(const Model& model) {
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(model.wait_for(1, std::chrono::milliseconds(100)));
  EXPECT_GE(std::chrono::steady_clock::now() - t0,
            std::chrono::milliseconds(100));
}

TEST_F(projection_test, wait_for_is_bounded_and_wakes_on_apply) {
  provisioning proj;
  ASSERT_FALSE(proj.load(*store_));
  expect_wait_times_out(proj);
  service(client("a"), product("p"));
  std::thread applier{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_FALSE(proj.catch_up(*store_));
  }};
  EXPECT_TRUE(proj.wait_for(3, std::chrono::seconds(10)));
  applier.join();
  EXPECT_TRUE(proj.wait_for(3, std::chrono::milliseconds(0)));
}

// A login for an email the client directory does not hold yet waits for it
// to apply the log's head: bounded, and woken by the apply (no polling).
TEST_F(projection_test, a_directory_wait_is_bounded_and_wakes_on_apply) {
  client_directory dir;
  ASSERT_FALSE(dir.catch_up(*store_));
  expect_wait_times_out(dir);
  auto id = client("a");
  auto head = store_->last_position();
  std::thread applier{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto events = store_->read_all(1, head);
    ASSERT_TRUE(events);
    for (const auto& ev : *events)
      dir.apply(ev);
  }};
  EXPECT_TRUE(dir.wait_for(head, std::chrono::seconds(10)));
  applier.join();
  EXPECT_EQ(dir.position(), head);
  EXPECT_TRUE(dir.find_by_id(id).has_value());
}

TEST_F(projection_test, a_store_opened_without_the_family_is_refused) {
  store_.reset();
  store_options opts;
  opts.dir = dir_.sub("other");
  auto s = event_store::open(opts);
  ASSERT_TRUE(s);
  provisioning proj;
  auto err = proj.load(**s);
  ASSERT_TRUE(err);
  EXPECT_EQ(errc_of(err), billow_errc::invalid_argument);
}

TEST_F(projection_test, a_long_catch_up_commits_in_batches_and_matches_apply) {
  // Over 20,000 events in batches of 5,000: the same read model as applying
  // the log page by page, and a checkpoint at the head.
  many_services(4000);
  ASSERT_GT(store_->last_position(), 20'000u);
  provisioning fast;
  ASSERT_FALSE(fast.load(*store_));
  std::vector<uint64_t> progress;
  ASSERT_FALSE(
    fast.catch_up(*store_, {.events = 5000}, [&](uint64_t done, uint64_t) {
      progress.push_back(done);
    }));
  EXPECT_EQ(fast.position(), store_->last_position());
  EXPECT_EQ(fast.committed_position(), store_->last_position());
  EXPECT_GE(progress.size(), 4u);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  provisioning slow;
  for (uint64_t from = 1; from <= store_->last_position(); from += 777) {
    auto page = store_->read_all(from, 777);
    ASSERT_TRUE(page);
    slow.apply(*page);
  }
  EXPECT_EQ(dump(fast), dump(slow));
  EXPECT_EQ(fast.services({actors::service_status::suspended, "", ""}, 0, 5000)
              .items.size(),
            1600u); // i % 5 in {1, 3} ends suspended (3 or 5 flips)
  reopen();
  auto cp = store_->load_checkpoint("projection.provisioning");
  ASSERT_TRUE(cp);
  EXPECT_EQ(*cp, fast.position());
  provisioning loaded;
  ASSERT_FALSE(loaded.load(*store_));
  EXPECT_EQ(dump(loaded), dump(fast));
}

TEST_F(projection_test,
       a_rebuild_commits_by_time_and_reports_progress_between) {
  many_services(4000);
  auto head = store_->last_position();
  struct report {
    uint64_t done;
    uint64_t committed;
  };
  // No interval left: a commit at every clock check (each 1,024 events), so
  // what a report sees committed is never more than that behind.
  std::vector<report> reports;
  provisioning eager;
  ASSERT_TRUE(eager.rebuild(
    *store_,
    {.events = SIZE_MAX, .interval = std::chrono::steady_clock::duration{0}},
    [&](uint64_t done, uint64_t) {
      reports.push_back({done, eager.committed_position()});
    }));
  ASSERT_GE(reports.size(), head / 1024);
  for (const auto& r : reports)
    EXPECT_LE(r.done - r.committed, 1024u) << r.done;
  // The rebuild's own policy: one commit (these 20,000 events take far less
  // than its interval), and still a progress report every 16,384 events.
  reports.clear();
  provisioning lazy;
  ASSERT_TRUE(
    lazy.rebuild(*store_, rebuild_commits, [&](uint64_t done, uint64_t) {
      reports.push_back({done, lazy.committed_position()});
    }));
  ASSERT_GE(reports.size(), 2u);
  EXPECT_LT(reports.front().done, head);
  EXPECT_EQ(reports.back().done, head);
  EXPECT_EQ(reports.back().committed, head);
  EXPECT_EQ(dump(lazy), dump(eager));
  reopen();
  provisioning loaded;
  ASSERT_FALSE(loaded.load(*store_));
  EXPECT_EQ(loaded.position(), head);
  EXPECT_EQ(dump(loaded), dump(eager));
}

TEST_F(projection_test, a_stored_service_record_reloads_every_field) {
  auto c = client("a");
  auto p = product("p");
  auto plain = service(c, p);
  // Text that must be escaped in the stored JSON, a pending policy, a due
  // date and module data.
  auto odd = to_string(uuid::random());
  append("service-" + odd, "service.opened",
         {{"client_id", c},
          {"product_id", p},
          {"module", "Product/\"q\"\\x"},
          {"period", "monthly"},
          {"label", "db \"main\"\n"}});
  append("service-" + odd, "service.create_requested",
         {{"job_id", to_string(uuid::random())},
          {"policy", {{"tries", 3}, {"backoff", {5, 30}}, {"timeout", 60}}}});
  append("service-" + odd, "service.provisioning_failed",
         {{"error", "line 1\nline\t2 \x01 \"quoted\""}});
  append("service-" + plain, "service.provisioned",
         {{"result", R"({"service_data":{"db":"x\"y"}})"},
          {"next_due_date", "2027-01-01"}});
  auto job = to_string(uuid::random());
  append("service-" + plain, "service.suspend_requested",
         {{"job_id", job},
          {"policy", {{"tries", 2}, {"backoff", {1}}, {"timeout", 9}}}});
  provisioning rebuilt;
  ASSERT_TRUE(rebuilt.rebuild(*store_, {.events = 2}));
  provisioning loaded;
  ASSERT_FALSE(loaded.load(*store_));
  for (const auto& id : {plain, odd}) {
    auto a = rebuilt.service(id);
    auto b = loaded.service(id);
    ASSERT_TRUE(a && b) << id;
    EXPECT_EQ(a->state.to_json(), b->state.to_json()) << id;
    EXPECT_EQ(json::parse(a->service_data), json::parse(b->service_data));
    EXPECT_EQ(a->next_due_date, b->next_due_date);
    EXPECT_EQ(a->version, b->version);
    EXPECT_EQ(a->seq, b->seq);
    EXPECT_EQ(a->created_us, b->created_us);
    EXPECT_EQ(a->updated_us, b->updated_us);
  }
  auto o = loaded.service(odd);
  EXPECT_EQ(o->state.module, "Product/\"q\"\\x");
  EXPECT_EQ(o->state.last_error, "line 1\nline\t2 \x01 \"quoted\"");
  EXPECT_EQ(o->state.period, "monthly");
  EXPECT_EQ(o->state.label, "db \"main\"\n");
  EXPECT_EQ(o->view().period, "monthly");
  EXPECT_EQ(loaded.service(plain)->state.period, "");
  EXPECT_EQ(loaded.product_name(p).value_or("?"), "p");
  EXPECT_FALSE(loaded.product_name(to_string(uuid::random())).has_value());
  auto s = loaded.service(plain);
  EXPECT_EQ(s->next_due_date, "2027-01-01");
  EXPECT_EQ(json::parse(s->service_data), json::parse(R"({"db":"x\"y"})"));
  EXPECT_EQ(to_string(s->state.job_id), job);
  EXPECT_TRUE(s->state.pending_policy.has_value());
}

TEST_F(projection_test,
       indexes_updated_per_batch_match_indexes_updated_per_event) {
  // Index updates wait for a batch's end: a service that changes status or
  // product several times inside one batch must be listed as when each
  // event is applied on its own.
  auto c1 = client("one");
  auto c2 = client("two");
  auto p1 = product("p1");
  auto p2 = product("p2");
  std::vector<std::string> ids;
  for (int i = 0; i < 24; ++i) {
    ids.push_back(service(i % 2 == 0 ? c1 : c2, p1));
    if (i % 3 != 0)
      op(ids.back(), "service.provisioned");
  }
  for (int round = 0; round < 3; ++round)
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i % 4 == 1) {
        op(ids[i], "service.suspended");
        if (round < 2)
          op(ids[i], "service.unsuspended");
      }
      if (i % 4 == 2)
        append("service-" + ids[i], "service.package_changed",
               {{"new_product_id", round % 2 == 0 ? p2 : p1},
                {"manual", true}});
      if (i % 8 == 3 && round == 2)
        op(ids[i], "service.terminated");
    }
  provisioning per_event;
  for (uint64_t pos = 1; pos <= store_->last_position(); ++pos) {
    auto ev = store_->read_all(pos, 1);
    ASSERT_TRUE(ev);
    per_event.apply(*ev);
  }
  provisioning batched;
  ASSERT_TRUE(batched.rebuild(*store_)); // the whole log is one batch
  using st = actors::service_status;
  auto ids_of = [](const provisioning& p, const service_filter& f) {
    std::vector<std::string> out;
    for (auto& row : p.services(f, 0, 1000).items)
      out.push_back(row.id);
    return out;
  };
  std::vector<service_filter> filters{{}};
  for (auto s : {st::pending, st::active, st::suspended, st::terminated})
    for (const auto& c : {std::string{}, c1, c2})
      for (const auto& p : {std::string{}, p1, p2})
        filters.push_back({s, c, p});
  for (const auto& c : {c1, c2})
    filters.push_back({std::nullopt, c, ""});
  for (const auto& p : {p1, p2})
    filters.push_back({std::nullopt, "", p});
  for (const auto& f : filters)
    EXPECT_EQ(ids_of(batched, f), ids_of(per_event, f))
      << (f.status ? actors::to_string(*f.status) : "any") << " " << f.client_id
      << " " << f.product_id;
  EXPECT_EQ(dump(batched), dump(per_event));
  // Not vacuous: the batch moved services between statuses and products.
  EXPECT_FALSE(ids_of(batched, {st::suspended, "", ""}).empty());
  EXPECT_FALSE(ids_of(batched, {st::terminated, "", ""}).empty());
  EXPECT_FALSE(ids_of(batched, {std::nullopt, "", p2}).empty());
}

// Following the log: pages are applied at once, what was applied is stored
// (records and checkpoint) soon after without another event arriving, and
// once more as the follower stops.
TEST_F(projection_test,
       a_follower_commits_soon_after_applying_and_as_it_stops) {
  billow::actors::runtime_options ro;
  ro.scheduler_threads = 2;
  auto cfg = billow::actors::make_actor_system_config(ro);
  auto sys = std::make_unique<caf::actor_system>(*cfg);
  auto writer = make_writer(*sys, *store_);
  auto write = [&](const std::string& stream, const std::string& type,
                   const json::object& payload) {
    caf::scoped_actor self{*sys};
    bool ok = false;
    self
      ->request(writer, caf::infinite, append_atom::value, stream,
                expected_version::any(),
                std::vector<new_event>{event(type, payload)})
      .receive(
        [&](const append_result&) {
          ok = true;
        },
        [&](caf::error& err) {
          ADD_FAILURE() << to_string(err);
        });
    return ok;
  };
  auto eventually = [](const auto& probe) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!probe() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    return probe();
  };
  auto proj = std::make_shared<provisioning>();
  ASSERT_FALSE(proj->load(*store_));
  auto follower = follow(*sys, *store_, writer, proj);
  ASSERT_TRUE(follower) << to_string(follower.error());
  // Ends the actors however the test ends: the system waits for them.
  auto stop = [&] {
    if (*follower)
      caf::anon_send_exit(*follower, caf::exit_reason::user_shutdown);
    if (writer)
      caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    *follower = nullptr;
    writer = nullptr;
    sys.reset();
  };
  std::shared_ptr<void> stop_on_exit{nullptr, [&](void*) {
                                       stop();
                                     }};
  auto id = to_string(uuid::random());
  ASSERT_TRUE(write("service-" + id, "service.opened",
                    {{"client_id", to_string(uuid::random())},
                     {"product_id", to_string(uuid::random())}}));
  ASSERT_TRUE(
    write("service-" + id, "service.provisioned", {{"manual", true}}));
  auto head = store_->last_position();
  ASSERT_TRUE(eventually([&] {
    return proj->position() == head;
  }));
  EXPECT_EQ(proj->service(id)->state.status,
            billow::actors::service_status::active);
  // Stored without waiting for more events.
  ASSERT_TRUE(eventually([&] {
    return proj->committed_position() == head;
  }));
  auto checkpoint = store_->load_checkpoint(proj->checkpoint_name());
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(*checkpoint, head);
  // One more, then stop at once: stopping stores it.
  ASSERT_TRUE(write("service-" + id, "service.suspended", {{"manual", true}}));
  head = store_->last_position();
  ASSERT_TRUE(eventually([&] {
    return proj->position() == head;
  }));
  stop(); // waits for the follower to end
  EXPECT_EQ(proj->committed_position(), head);
  reopen();
  provisioning loaded;
  ASSERT_FALSE(loaded.load(*store_));
  EXPECT_EQ(loaded.position(), head);
  EXPECT_EQ(loaded.service(id)->state.status,
            billow::actors::service_status::suspended);
}
