#include "events/event_store.hpp"

#include <cctype>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>

#include "events/encoding.hpp"
#include "events/errc.hpp"
#include "events/prefetch.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using namespace billow::events;

namespace {

new_event make_event(std::string type = "service.created",
                     std::string payload = R"({"plan":"basic"})",
                     std::string actor = "system") {
  new_event x;
  x.event_id = uuid::random();
  x.type = std::move(type);
  x.actor = std::move(actor);
  x.payload = std::move(payload);
  return x;
}

std::vector<new_event> events_of(size_t n) {
  std::vector<new_event> xs;
  for (size_t i = 0; i < n; ++i)
    xs.push_back(make_event());
  return xs;
}

class event_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    reopen();
  }

  void reopen() {
    store.reset();
    store_options opts;
    opts.dir = dir.sub("db");
    opts.clock = [this] {
      return now_us;
    };
    auto s = event_store::open(std::move(opts));
    ASSERT_TRUE(s) << to_string(s.error());
    store = std::move(*s);
  }

  append_result must_append(const std::string& stream, size_t n,
                            expected_version ev = expected_version::any()) {
    auto r = store->append(stream, ev, events_of(n));
    EXPECT_TRUE(r) << to_string(r.error());
    return r ? *r : append_result{};
  }

  test::temp_dir dir{"events"};
  int64_t now_us = 1'700'000'000'000'000;
  std::unique_ptr<event_store> store;
};

} // namespace

TEST_F(event_store_test, append_to_new_stream_assigns_positions_and_versions) {
  auto r = must_append("service-1", 3, expected_version::no_stream());
  EXPECT_EQ(r.first_position, 1u);
  EXPECT_EQ(r.last_position, 3u);
  EXPECT_EQ(r.version, 3u);
  EXPECT_FALSE(r.duplicate);
  auto r2 = must_append("client-1", 2, expected_version::no_stream());
  EXPECT_EQ(r2.first_position, 4u);
  EXPECT_EQ(r2.version, 2u);
  EXPECT_EQ(store->last_position(), 5u);
  auto events = store->read_all(1, 100);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 5u);
  EXPECT_EQ((*events)[4].stream, "client-1");
  EXPECT_EQ((*events)[4].version, 2u);
  EXPECT_EQ((*events)[4].time_us, now_us);
}

TEST_F(event_store_test, positions_stay_gapless_across_restarts) {
  must_append("service-1", 2);
  reopen();
  EXPECT_EQ(store->last_position(), 2u);
  auto r = must_append("service-1", 1, expected_version::exact(2));
  EXPECT_EQ(r.first_position, 3u);
  EXPECT_EQ(r.version, 3u);
  auto all = store->read_all(1, 100);
  ASSERT_TRUE(all);
  for (size_t i = 0; i < all->size(); ++i)
    EXPECT_EQ((*all)[i].position, i + 1);
}

TEST_F(event_store_test, append_with_stale_version_is_refused) {
  must_append("service-1", 2);
  auto r = store->append("service-1", expected_version::exact(1), events_of(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(errc_of(r.error()), billow_errc::wrong_expected_version);
  EXPECT_NE(detail_of(r.error()).find("current_version=2"), std::string::npos);
  EXPECT_EQ(store->last_position(), 2u);
}

TEST_F(event_store_test, append_with_no_stream_on_existing_stream_is_refused) {
  must_append("service-1", 1);
  auto r = store->append("service-1", expected_version::no_stream(),
                         events_of(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(errc_of(r.error()), billow_errc::wrong_expected_version);
  auto r2 = store->append("service-2", expected_version::exact(3),
                          events_of(1));
  ASSERT_FALSE(r2);
  EXPECT_NE(detail_of(r2.error()).find("current_version=0"), std::string::npos);
}

TEST_F(event_store_test, append_with_any_ignores_the_version) {
  must_append("service-1", 1);
  auto r = must_append("service-1", 1, expected_version::any());
  EXPECT_EQ(r.version, 2u);
}

TEST_F(event_store_test, duplicate_event_ids_return_original_positions) {
  must_append("service-0", 1);
  auto events = events_of(2);
  auto first = store->append("service-1", expected_version::no_stream(),
                             events);
  ASSERT_TRUE(first);
  must_append("service-2", 1);
  // A retry with a now-stale expected version still answers the original.
  auto retry = store->append("service-1", expected_version::no_stream(),
                             events);
  ASSERT_TRUE(retry) << to_string(retry.error());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->last_position, first->last_position);
  EXPECT_EQ(retry->version, 2u);
  EXPECT_EQ(store->last_position(), 4u);
}

TEST_F(event_store_test, partially_stored_or_foreign_event_ids_are_refused) {
  auto events = events_of(1);
  ASSERT_TRUE(store->append("service-1", expected_version::any(), events));
  auto mixed = events;
  mixed.push_back(make_event());
  auto r = store->append("service-1", expected_version::any(), mixed);
  ASSERT_FALSE(r);
  EXPECT_EQ(errc_of(r.error()), billow_errc::already_exists);
  auto foreign = store->append("service-2", expected_version::any(), events);
  ASSERT_FALSE(foreign);
  EXPECT_EQ(errc_of(foreign.error()), billow_errc::already_exists);
  EXPECT_EQ(store->last_position(), 1u);
}

TEST_F(event_store_test, payload_that_is_not_an_object_is_refused) {
  for (auto payload : {"[1,2]", "42", "\"x\"", "{\"a\":", "", "null"}) {
    auto events = events_of(1);
    events.push_back(make_event("service.created", payload));
    auto r = store->append("service-1", expected_version::any(), events);
    ASSERT_FALSE(r) << payload;
    EXPECT_EQ(errc_of(r.error()), billow_errc::invalid_argument);
  }
  EXPECT_EQ(store->last_position(), 0u);
  auto all = store->read_all(1, 10);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(event_store_test, invalid_stream_ids_are_refused) {
  for (const auto& stream :
       {std::string{}, std::string(257, 'a'), std::string{"service 1"},
        std::string{"a/b"}, std::string{"a\0b", 3}, std::string{"é"}}) {
    auto r = store->append(stream, expected_version::any(), events_of(1));
    ASSERT_FALSE(r);
    EXPECT_EQ(errc_of(r.error()), billow_errc::invalid_argument);
  }
  EXPECT_EQ(store->last_position(), 0u);
  must_append(std::string(256, 'a'), 1);
  must_append("module-Payment_x.y:z-1", 1);
}

TEST_F(event_store_test, event_over_one_mib_is_refused) {
  std::string big = R"({"blob":")" + std::string(std::size_t{1024} * 1024, 'x')
    + "\"}";
  auto events = events_of(1);
  events.push_back(make_event("service.created", big));
  auto r = store->append("service-1", expected_version::any(), events);
  ASSERT_FALSE(r);
  EXPECT_EQ(errc_of(r.error()), billow_errc::invalid_argument);
  EXPECT_EQ(store->last_position(), 0u);
  std::string fits = R"({"blob":")" + std::string(std::size_t{1000} * 1000, 'x')
    + "\"}";
  auto ok = store->append("service-1", expected_version::any(),
                          {make_event("service.created", fits)});
  EXPECT_TRUE(ok);
}

TEST_F(event_store_test, empty_append_and_bad_event_fields_are_refused) {
  auto r = store->append("service-1", expected_version::any(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(errc_of(r.error()), billow_errc::invalid_argument);
  for (auto type : {"", "Service.created", "service..created", "service."}) {
    auto bad = store->append("service-1", expected_version::any(),
                             {make_event(type)});
    EXPECT_FALSE(bad) << type;
  }
  auto no_actor = make_event();
  no_actor.actor.clear();
  EXPECT_FALSE(store->append("service-1", expected_version::any(), {no_actor}));
  auto nil_id = make_event();
  nil_id.event_id = uuid{};
  EXPECT_FALSE(store->append("service-1", expected_version::any(), {nil_id}));
  auto twice = make_event();
  EXPECT_FALSE(
    store->append("service-1", expected_version::any(), {twice, twice}));
  EXPECT_EQ(store->last_position(), 0u);
}

TEST_F(event_store_test, group_commit_isolates_refused_requests) {
  std::vector<append_request> reqs;
  reqs.push_back({"service-1", expected_version::no_stream(), events_of(2)});
  reqs.push_back({"service-1", expected_version::no_stream(), events_of(1)});
  reqs.push_back({"service-1", expected_version::exact(2), events_of(1)});
  reqs.push_back({"", expected_version::any(), events_of(1)});
  reqs.push_back({"service-2", expected_version::any(), events_of(1)});
  reqs.push_back(reqs[0]); // a retry inside the same group
  auto results = store->append_group(reqs, durability::sync);
  ASSERT_EQ(results.size(), 6u);
  ASSERT_TRUE(results[0]);
  EXPECT_EQ(results[0]->last_position, 2u);
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(errc_of(results[1].error()), billow_errc::wrong_expected_version);
  ASSERT_TRUE(results[2]);
  EXPECT_EQ(results[2]->first_position, 3u);
  EXPECT_EQ(results[2]->version, 3u);
  EXPECT_FALSE(results[3]);
  ASSERT_TRUE(results[4]);
  EXPECT_EQ(results[4]->first_position, 4u);
  ASSERT_TRUE(results[5]);
  EXPECT_TRUE(results[5]->duplicate);
  EXPECT_EQ(results[5]->first_position, 1u);
  EXPECT_EQ(results[5]->version, 2u);
  EXPECT_EQ(store->last_position(), 4u);
  auto report = store->verify(1, UINT64_MAX);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
}

// A unit (with_next) spans streams: written whole, or, when one member is
// refused, not at all, while the group's other requests go on.
TEST_F(event_store_test, a_unit_is_written_whole_or_not_at_all) {
  must_append("invoice-1", 1);
  std::vector<append_request> reqs;
  reqs.push_back({"service-1", expected_version::no_stream(), events_of(1)});
  // Refused: its second member expects a stale version.
  reqs.push_back(
    {"series-a", expected_version::no_stream(), events_of(2), true});
  reqs.push_back({"invoice-1", expected_version::exact(0), events_of(1)});
  reqs.push_back({"service-2", expected_version::no_stream(), events_of(1)});
  // Accepted: both members.
  reqs.push_back(
    {"series-a", expected_version::no_stream(), events_of(1), true});
  reqs.push_back({"invoice-1", expected_version::exact(1), events_of(1)});
  auto results = store->append_group(reqs, durability::sync);
  ASSERT_EQ(results.size(), 6u);
  ASSERT_TRUE(results[0]);
  EXPECT_EQ(results[0]->first_position, 2u);
  for (int i : {1, 2}) {
    ASSERT_FALSE(results[i]);
    EXPECT_EQ(errc_of(results[i].error()), billow_errc::wrong_expected_version);
  }
  ASSERT_TRUE(results[3]);
  EXPECT_EQ(results[3]->first_position, 3u);
  ASSERT_TRUE(results[4]);
  ASSERT_TRUE(results[5]);
  EXPECT_EQ(results[4]->first_position, 4u);
  EXPECT_EQ(results[5]->first_position, 5u);
  EXPECT_EQ(results[5]->version, 2u);
  EXPECT_EQ(store->last_position(), 5u);
  auto series = store->read_stream("series-a", 1, read_direction::forward, 10);
  ASSERT_TRUE(series);
  EXPECT_EQ(series->size(), 1u);
  // The accepted unit again: both members are duplicates, nothing written.
  std::vector<append_request> again{reqs[4], reqs[5]};
  auto retry = store->append_group(again, durability::sync);
  ASSERT_TRUE(retry[0] && retry[1]);
  EXPECT_TRUE(retry[0]->duplicate);
  EXPECT_TRUE(retry[1]->duplicate);
  EXPECT_EQ(store->last_position(), 5u);
  // A unit stored in part (its ids collide with another's): refused whole.
  std::vector<append_request> half{reqs[4], reqs[5]};
  half[1].events = events_of(1);
  half[1].expected = expected_version::any();
  auto mixed = store->append_group(half, durability::sync);
  ASSERT_FALSE(mixed[0]);
  ASSERT_FALSE(mixed[1]);
  EXPECT_EQ(errc_of(mixed[1].error()), billow_errc::already_exists);
  EXPECT_EQ(store->last_position(), 5u);
  auto report = store->verify(1, UINT64_MAX);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
}

TEST_F(event_store_test, streams_read_forward_and_backward_from_a_version) {
  must_append("service-1", 5);
  must_append("service-10", 2); // shares a prefix, must not leak in
  must_append("service-1", 2);
  auto fwd = store->read_stream("service-1", 3, read_direction::forward, 3);
  ASSERT_TRUE(fwd);
  ASSERT_EQ(fwd->size(), 3u);
  EXPECT_EQ((*fwd)[0].version, 3u);
  EXPECT_EQ((*fwd)[2].version, 5u);
  auto all = store->read_stream("service-1", 1, read_direction::forward, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 7u);
  EXPECT_EQ((*all)[5].position, 8u);
  auto back = store->read_stream("service-1", 0, read_direction::backward, 3);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].version, 7u);
  EXPECT_EQ((*back)[2].version, 5u);
  auto back2 = store->read_stream("service-1", 2, read_direction::backward, 10);
  ASSERT_TRUE(back2);
  ASSERT_EQ(back2->size(), 2u);
  EXPECT_EQ((*back2)[1].version, 1u);
  auto none = store->read_stream("service-9", 1, read_direction::forward, 10);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(*store->stream_version("service-1"), 7u);
  EXPECT_EQ(*store->stream_version("service-9"), 0u);
}

TEST_F(event_store_test, whole_log_reads_from_a_position) {
  must_append("a", 4);
  must_append("b", 4);
  auto page = store->read_all(3, 4);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 4u);
  EXPECT_EQ(page->front().position, 3u);
  EXPECT_EQ(page->back().position, 6u);
  auto one = store->read_event(5);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->stream, "b");
  auto missing = store->read_event(99);
  ASSERT_FALSE(missing);
  EXPECT_EQ(errc_of(missing.error()), billow_errc::not_found);
}

TEST_F(event_store_test, envelope_fields_round_trip) {
  auto ev = make_event("invoice.paid", R"({"amount":"12.50","n":[1,2]})",
                       "admin:42");
  ev.schema = 3;
  ev.causation_id = uuid::random();
  ev.correlation_id = uuid::random();
  auto r = store->append("invoice-7", expected_version::any(), {ev});
  ASSERT_TRUE(r);
  auto x = store->read_event(r->first_position);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->type, ev.type);
  EXPECT_EQ(x->schema, 3u);
  EXPECT_EQ(x->event_id, ev.event_id);
  EXPECT_EQ(x->actor, "admin:42");
  EXPECT_EQ(x->causation_id, ev.causation_id);
  EXPECT_EQ(x->correlation_id, ev.correlation_id);
  EXPECT_EQ(x->payload, ev.payload);
  EXPECT_EQ(x->prev_hash, hash256{});
  std::string bytes;
  hash256 h;
  encode_envelope(*x, bytes, h);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), envelope_format_v2);
  EXPECT_EQ(h, x->hash);
  EXPECT_EQ(h,
            compute_hash(envelope_format_v2,
                         std::string_view{bytes}.substr(0, bytes.size() - 32)));
}

TEST_F(event_store_test, commit_time_never_decreases_when_the_clock_goes_back) {
  must_append("a", 1);
  now_us -= 5'000'000;
  must_append("a", 1);
  auto all = store->read_all(1, 10);
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)[1].time_us, (*all)[0].time_us);
  now_us += 10'000'000;
  must_append("a", 1);
  EXPECT_EQ(store->read_event(3)->time_us, now_us);
}

TEST_F(event_store_test, queries_filter_by_type_actor_prefix_correlation_time) {
  auto corr = uuid::random();
  // 30 events: alternating types, actors, streams; 10 share a correlation.
  for (int i = 0; i < 30; ++i) {
    now_us += 1000;
    auto ev = make_event(i % 2 ? "service.suspended" : "service.created",
                         R"({"i":)" + std::to_string(i) + "}",
                         i % 3 ? "system" : "admin:1");
    if (i % 3 == 0)
      ev.correlation_id = corr;
    auto stream = (i % 5 ? "service-" : "client-") + std::to_string(i % 4);
    ASSERT_TRUE(store->append(stream, expected_version::any(), {ev}));
  }
  auto collect = [&](log_query q) {
    std::vector<uint64_t> out;
    for (int guard = 0; guard < 100; ++guard) {
      auto page = store->query(q);
      EXPECT_TRUE(page);
      if (!page)
        break;
      for (auto& x : page->events)
        out.push_back(x.position);
      if (!page->next_cursor)
        break;
      q.from_position = *page->next_cursor;
    }
    return out;
  };
  auto expect = [&](auto pred) {
    std::vector<uint64_t> out;
    for (int i = 0; i < 30; ++i)
      if (pred(i))
        out.push_back(static_cast<uint64_t>(i + 1));
    return out;
  };
  log_query by_type;
  by_type.type = "service.suspended";
  by_type.limit = 4;
  EXPECT_EQ(collect(by_type), expect([](int i) {
              return i % 2 == 1;
            }));
  log_query by_actor;
  by_actor.actor = "admin:1";
  by_actor.limit = 3;
  EXPECT_EQ(collect(by_actor), expect([](int i) {
              return i % 3 == 0;
            }));
  log_query by_corr;
  by_corr.correlation_id = corr;
  by_corr.type = "service.created";
  EXPECT_EQ(collect(by_corr), expect([](int i) {
              return i % 6 == 0;
            }));
  log_query by_prefix;
  by_prefix.stream_prefix = "client-";
  by_prefix.limit = 2;
  EXPECT_EQ(collect(by_prefix), expect([](int i) {
              return i % 5 == 0;
            }));
  log_query by_time;
  by_time.time_from_us = store->read_event(10)->time_us;
  by_time.time_to_us = store->read_event(20)->time_us;
  by_time.limit = 3;
  EXPECT_EQ(collect(by_time), expect([](int i) {
              return i >= 9 && i < 19;
            }));
  log_query prefix_and_time = by_prefix;
  prefix_and_time.time_from_us = by_time.time_from_us;
  EXPECT_EQ(collect(prefix_and_time), expect([](int i) {
              return i % 5 == 0 && i >= 9;
            }));
  log_query nothing;
  nothing.type = "service.deleted";
  EXPECT_TRUE(collect(nothing).empty());
}

TEST_F(event_store_test, hash_chain_verifies_and_survives_restart) {
  must_append("a", 10);
  reopen();
  must_append("b", 10);
  auto report = store->verify(1, UINT64_MAX);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
  EXPECT_EQ(report->checked, 20u);
  auto e11 = store->read_event(11);
  auto e10 = store->read_event(10);
  EXPECT_EQ(e11->prev_hash, e10->hash);
  auto part = store->verify(5, 12);
  ASSERT_TRUE(part);
  EXPECT_TRUE(part->ok());
  EXPECT_EQ(part->checked, 8u);
}

namespace {

/// Opens the store's RocksDB directly and lets `fn` change the value stored
/// at `position` in the `events` family.
void tamper(const std::string& dir, uint64_t position,
            const std::function<void(std::string&)>& fn) {
  std::vector<std::string> names;
  ASSERT_TRUE(
    rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  descs.reserve(names.size());
  for (auto& n : names)
    descs.emplace_back(n, rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(
    rocksdb::DB::Open(rocksdb::DBOptions{}, dir, descs, &handles, &db).ok());
  rocksdb::ColumnFamilyHandle* events = nullptr;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == "events")
      events = handles[i];
  ASSERT_NE(events, nullptr);
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i)
    key[i] = static_cast<char>(position >> (56 - 8 * i));
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions{}, events, key, &value).ok());
  fn(value);
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions{}, events, key, value).ok());
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
  delete db;
}

} // namespace

TEST_F(event_store_test, verify_names_the_position_of_a_flipped_byte) {
  must_append("a", 20);
  store.reset();
  // Flip one byte inside the payload of position 7.
  tamper(dir.sub("db"), 7, [](std::string& v) {
    v[v.size() - 40] ^= 0x01;
  });
  reopen();
  auto report = store->verify(1, UINT64_MAX);
  ASSERT_TRUE(report);
  ASSERT_FALSE(report->ok());
  EXPECT_EQ(*report->first_bad, 7u);
  EXPECT_EQ(report->checked, 6u);
  // A flip in the stored prev_hash (offset 77) is caught at that position too.
  store.reset();
  tamper(dir.sub("db"), 7, [](std::string& v) {
    v[v.size() - 40] ^= 0x01;
  });
  tamper(dir.sub("db"), 3, [](std::string& v) {
    v[80] ^= 0x10;
  });
  reopen();
  report = store->verify(1, UINT64_MAX);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->first_bad, std::optional<uint64_t>{3});
}

TEST_F(event_store_test, prefetched_read_sees_every_event_in_order) {
  for (int i = 0; i < 10; ++i)
    must_append("s-" + std::to_string(i % 3), 10);
  // Small chunks, so that the 100 events cross many hand-overs.
  prefetch_options small{7, 2};
  std::vector<uint64_t> seen;
  std::vector<std::string> streams;
  ASSERT_FALSE(for_each_prefetched(
    *store, 1, UINT64_MAX,
    [&](const envelope& x) {
      seen.push_back(x.position);
      streams.push_back(x.stream);
      return true;
    },
    small));
  std::vector<std::string> expected;
  ASSERT_FALSE(store->for_each(1, UINT64_MAX, [&](const envelope& x) {
    expected.push_back(x.stream);
    return true;
  }));
  ASSERT_EQ(seen.size(), 100u);
  for (size_t i = 0; i < seen.size(); ++i)
    EXPECT_EQ(seen[i], i + 1);
  EXPECT_EQ(streams, expected);
  // A range in the middle.
  seen.clear();
  ASSERT_FALSE(for_each_prefetched(
    *store, 31, 57,
    [&](const envelope& x) {
      seen.push_back(x.position);
      return true;
    },
    small));
  ASSERT_EQ(seen.size(), 27u);
  EXPECT_EQ(seen.front(), 31u);
  EXPECT_EQ(seen.back(), 57u);
}

TEST_F(event_store_test, prefetched_read_stops_when_the_consumer_does) {
  must_append("a", 200);
  uint64_t calls = 0;
  ASSERT_FALSE(for_each_prefetched(*store, 1, UINT64_MAX,
                                   [&](const envelope&) {
                                     return ++calls < 15;
                                   },
                                   {4, 3}));
  EXPECT_EQ(calls, 15u);
}

TEST_F(event_store_test, prefetched_read_reports_a_bad_event_after_the_good) {
  must_append("a", 40);
  store.reset();
  tamper(dir.sub("db"), 23, [](std::string& v) {
    v.resize(10); // no longer an envelope
  });
  reopen();
  std::vector<uint64_t> seen;
  auto err = for_each_prefetched(*store, 1, UINT64_MAX,
                                 [&](const envelope& x) {
                                   seen.push_back(x.position);
                                   return true;
                                 },
                                 {5, 2});
  ASSERT_TRUE(err);
  ASSERT_EQ(seen.size(), 22u);
  EXPECT_EQ(seen.back(), 22u);
}

TEST_F(event_store_test, verify_names_a_rewritten_event_whose_hash_was_fixed) {
  must_append("a", 5);
  store.reset();
  // Rewrite position 3 consistently (new payload, recomputed own hash): only
  // the link from position 4 can notice.
  tamper(dir.sub("db"), 3, [](std::string& v) {
    envelope x;
    ASSERT_FALSE(decode_envelope(v, x));
    x.payload = R"({"plan":"free"})";
    v.clear();
    hash256 h;
    encode_envelope(x, v, h);
  });
  reopen();
  auto report = store->verify(1, UINT64_MAX);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->first_bad, std::optional<uint64_t>{4});
}

TEST_F(event_store_test, a_log_written_in_format_1_verifies_and_grows) {
  must_append("a", 5);
  store.reset();
  // Turn the stored log into what format 1 wrote: BLAKE2b hashes, each
  // event linked to the one before.
  hash256 prev{};
  for (uint64_t pos = 1; pos <= 5; ++pos)
    tamper(dir.sub("db"), pos, [&](std::string& v) {
      envelope x;
      ASSERT_FALSE(decode_envelope(v, x));
      x.prev_hash = prev;
      v.clear();
      hash256 ignored;
      encode_envelope(x, v, ignored);
      v[0] = static_cast<char>(envelope_format_v1);
      auto body = std::string_view{v}.substr(0, v.size() - 32);
      prev = compute_hash(envelope_format_v1, body);
      v.replace(v.size() - 32, 32, reinterpret_cast<const char*>(prev.data()),
                32);
      ASSERT_TRUE(hash_matches(v));
    });
  reopen();
  auto report = store->verify(1, UINT64_MAX);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
  auto old = store->read_event(5);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->hash, prev);
  // New appends are format 2 and link to the last format-1 hash.
  must_append("a", 3);
  report = store->verify(1, UINT64_MAX);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok()) << report->problem;
  EXPECT_EQ(report->checked, 8u);
  auto next = store->read_event(6);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->prev_hash, prev);
  // A flipped byte in a format-1 event is still named.
  store.reset();
  tamper(dir.sub("db"), 2, [](std::string& v) {
    v[v.size() - 40] ^= 0x01;
  });
  reopen();
  report = store->verify(1, UINT64_MAX);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->first_bad, std::optional<uint64_t>{2});
}

TEST_F(event_store_test, an_unknown_envelope_format_is_corruption) {
  must_append("a", 1);
  store.reset();
  tamper(dir.sub("db"), 1, [](std::string& v) {
    v[0] = 3;
  });
  auto s = event_store::open({dir.sub("db"), nullptr, {}, nullptr, {}});
  ASSERT_FALSE(s);
  EXPECT_EQ(errc_of(s.error()), billow_errc::corruption);
}

TEST_F(event_store_test, snapshots_keep_the_latest_version) {
  must_append("service-1", 5);
  auto missing = store->load_snapshot("service-1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(errc_of(missing.error()), billow_errc::not_found);
  ASSERT_FALSE(store->save_snapshot("service-1", 3, "state-3"));
  ASSERT_FALSE(store->save_snapshot("service-1", 5, std::string{"s\0-5", 4}));
  ASSERT_FALSE(store->save_snapshot("service-1", 4, "older"));
  auto snap = store->load_snapshot("service-1");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->version, 5u);
  EXPECT_EQ(snap->bytes, (std::string{"s\0-5", 4}));
  auto beyond = store->save_snapshot("service-1", 6, "future");
  ASSERT_TRUE(beyond);
  EXPECT_EQ(errc_of(beyond), billow_errc::invalid_argument);
  reopen();
  EXPECT_EQ(store->load_snapshot("service-1")->version, 5u);
}

TEST_F(event_store_test, checkpoints_round_trip_and_join_a_batch) {
  auto missing = store->load_checkpoint("billing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(errc_of(missing.error()), billow_errc::not_found);
  ASSERT_FALSE(store->save_checkpoint("billing", 42));
  EXPECT_EQ(*store->load_checkpoint("billing"), 42u);
  rocksdb::WriteBatch batch;
  store->put_checkpoint(batch, "billing", 43);
  store->put_checkpoint(batch, "audit", 7);
  ASSERT_FALSE(store->write(batch, durability::sync));
  reopen();
  EXPECT_EQ(*store->load_checkpoint("billing"), 43u);
  EXPECT_EQ(*store->load_checkpoint("audit"), 7u);
}

// A read model's family, made by the server, must not lock out a tool that
// opens the store without naming it (billow events, verify).
TEST_F(event_store_test, families_made_by_others_open_without_being_named) {
  must_append("svc-1", 2);
  store.reset();
  {
    store_options opts;
    opts.dir = dir.sub("db");
    opts.extra_column_families = {"read_model"};
    auto with_model = event_store::open(std::move(opts));
    ASSERT_TRUE(with_model) << to_string(with_model.error());
    auto* cf = (*with_model)->column_family("read_model");
    ASSERT_NE(cf, nullptr);
    rocksdb::WriteBatch batch;
    batch.Put(cf, "k", "v");
    ASSERT_FALSE((*with_model)->write(batch, durability::sync));
  }
  reopen(); // names no extra family
  ASSERT_TRUE(store);
  EXPECT_EQ(store->last_position(), 2u);
  auto* cf = store->column_family("read_model");
  ASSERT_NE(cf, nullptr);
  std::string value;
  ASSERT_TRUE(store->db().Get(rocksdb::ReadOptions{}, cf, "k", &value).ok());
  EXPECT_EQ(value, "v");
}

TEST_F(event_store_test, upcasters_lift_old_schemas_on_read) {
  auto ev = make_event("service.created", R"({"plan":"basic"})");
  ev.schema = 1;
  ASSERT_TRUE(store->append("service-1", expected_version::any(), {ev}));
  auto& reg = store->upcasters();
  ASSERT_FALSE(reg.add("service.created", 1, 2,
                       [](std::string_view p) -> caf::expected<std::string> {
                         // {"plan":X} -> {"product":X}
                         auto colon = p.find(':');
                         return std::string{R"({"product")"}
                         + std::string{p.substr(colon)};
                       }));
  ASSERT_FALSE(reg.add("service.created", 2, 3,
                       [](std::string_view p) -> caf::expected<std::string> {
                         std::string s{p};
                         s.insert(s.size() - 1, R"(,"billing":"monthly")");
                         return s;
                       }));
  EXPECT_TRUE(reg.add("service.created", 1, 5, [](std::string_view) {
    return caf::expected<std::string>{std::string{"{}"}};
  }));
  EXPECT_TRUE(reg.add("service.created", 4, 4, [](std::string_view) {
    return caf::expected<std::string>{std::string{"{}"}};
  }));
  auto x = store->read_event(1);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->schema, 3u);
  EXPECT_EQ(x->payload, R"({"product":"basic","billing":"monthly"})");
  auto via_stream = store->read_stream("service-1", 1, read_direction::forward,
                                       10);
  EXPECT_EQ(via_stream->front().schema, 3u);
  // The stored bytes keep their schema: the chain still verifies.
  EXPECT_TRUE(store->verify(1, 1)->ok());
}

TEST_F(event_store_test, upcaster_that_breaks_the_payload_fails_the_read) {
  ASSERT_TRUE(store->append("a", expected_version::any(), events_of(1)));
  ASSERT_FALSE(
    store->upcasters().add("service.created", 1, 2, [](std::string_view) {
      return caf::expected<std::string>{std::string{"[]"}};
    }));
  EXPECT_FALSE(store->read_event(1));
}

TEST_F(event_store_test, data_dir_open_elsewhere_is_refused) {
  store_options opts;
  opts.dir = dir.sub("db");
  auto second = event_store::open(opts);
  ASSERT_FALSE(second);
  EXPECT_EQ(errc_of(second.error()), billow_errc::data_dir_locked);
  EXPECT_NE(detail_of(second.error()).find(opts.dir), std::string::npos);
  // And from another process.
  auto pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto other = event_store::open(opts);
    ::_exit(
      !other && errc_of(other.error()) == billow_errc::data_dir_locked ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Once closed, it opens again.
  store.reset();
  EXPECT_TRUE(event_store::open(opts));
}

TEST(uuid_test, forked_child_draws_different_ids_than_its_parent) {
  (void)uuid::random(); // fill this thread's pool
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto id = uuid::random();
    auto n = ::write(fds[1], id.bytes.data(), id.bytes.size());
    ::_exit(n == 16 ? 0 : 1);
  }
  uuid child;
  ASSERT_EQ(::read(fds[0], child.bytes.data(), 16), 16);
  ::waitpid(pid, nullptr, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_NE(uuid::random(), child);
}

TEST(uuid_test, text_form_round_trips_and_rejects_garbage) {
  auto id = uuid::random();
  EXPECT_EQ(id.bytes[6] >> 4, 4);
  auto text = to_string(id);
  EXPECT_EQ(text.size(), 36u);
  EXPECT_EQ(uuid::parse(text), id);
  EXPECT_FALSE(uuid::parse("not-a-uuid"));
  EXPECT_FALSE(uuid::parse("0f8e5a4c-2b1d-4c7e-9a3f-6d5e4c3b2a1g"));
  // Upper case digits read as lower case; bytes next to the digit ranges
  // and bytes above 0x7f are no digits.
  auto upper = text;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(uuid::parse(upper), id);
  for (char bad : {'/', ':', '@', 'G', '`', 'g', '\x80', '\xff', '\0'}) {
    auto spoiled = text;
    spoiled[3] = bad;
    EXPECT_FALSE(uuid::parse(spoiled)) << static_cast<int>(bad);
  }
}

TEST_F(event_store_test, index_entries_of_one_group_page_from_any_position) {
  // One group of 300 events: the index families hold a few entries listing
  // many positions each; pages must start inside them and end exactly.
  auto corr = uuid::random();
  std::vector<append_request> reqs;
  for (int i = 0; i < 300; ++i) {
    auto ev = make_event(i % 3 ? "service.created" : "service.renewed",
                         R"({"i":1})", i % 2 ? "system" : "admin:3");
    if (i % 5 == 0)
      ev.correlation_id = corr;
    reqs.push_back(
      {"s-" + std::to_string(i % 7), expected_version::any(), {ev}});
  }
  for (auto& r : store->append_group(reqs, durability::async))
    ASSERT_TRUE(r);
  auto collect = [&](log_query q) {
    std::vector<uint64_t> out;
    for (int guard = 0; guard < 1000; ++guard) {
      auto page = store->query(q);
      EXPECT_TRUE(page);
      if (!page)
        break;
      for (auto& x : page->events)
        out.push_back(x.position);
      if (!page->next_cursor)
        break;
      q.from_position = *page->next_cursor;
    }
    return out;
  };
  auto expect = [](uint64_t from, auto pred) {
    std::vector<uint64_t> out;
    for (uint64_t p = from; p <= 300; ++p)
      if (pred(static_cast<int>(p - 1)))
        out.push_back(p);
    return out;
  };
  for (uint64_t from : {1u, 2u, 131u, 200u, 299u}) {
    for (size_t limit : {1u, 7u, 500u}) {
      log_query q;
      q.from_position = from;
      q.limit = limit;
      q.type = "service.renewed";
      EXPECT_EQ(collect(q), expect(from, [](int i) {
                  return i % 3 == 0;
                }));
      q.type.clear();
      q.actor = "system";
      EXPECT_EQ(collect(q), expect(from, [](int i) {
                  return i % 2 == 1;
                }));
      q.actor.clear();
      q.correlation_id = corr;
      EXPECT_EQ(collect(q), expect(from, [](int i) {
                  return i % 5 == 0;
                }));
    }
  }
}

TEST_F(event_store_test, indexed_filters_do_not_scan_the_log) {
  // 3000 events, of which 3 have the rare type, the rare actor and the
  // rare stream prefix.
  std::vector<append_request> reqs;
  for (int i = 0; i < 3000; ++i) {
    bool rare = i % 1000 == 500;
    auto ev = make_event(rare ? "invoice.refunded" : "service.created",
                         R"({"i":1})", rare ? "admin:7" : "system");
    reqs.push_back({(rare ? "invoice-" : "service-") + std::to_string(i % 50),
                    expected_version::any(),
                    {ev}});
  }
  for (auto& r : store->append_group(reqs, durability::async))
    ASSERT_TRUE(r);
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  auto steps_for = [&](const log_query& q) {
    rocksdb::get_perf_context()->Reset();
    auto page = store->query(q);
    EXPECT_TRUE(page);
    EXPECT_EQ(page->events.size(), 3u);
    auto* ctx = rocksdb::get_perf_context();
    return ctx->next_on_memtable_count + ctx->seek_on_memtable_count
      + ctx->get_from_memtable_count;
  };
  log_query by_type;
  by_type.type = "invoice.refunded";
  log_query by_actor;
  by_actor.actor = "admin:7";
  log_query by_prefix;
  by_prefix.stream_prefix = "invoice-";
  EXPECT_LT(steps_for(by_type), 50u);
  EXPECT_LT(steps_for(by_actor), 50u);
  EXPECT_LT(steps_for(by_prefix), 50u);
  // The unindexed path really does walk the log (so the counter works).
  log_query scan;
  scan.limit = 3000;
  rocksdb::get_perf_context()->Reset();
  ASSERT_TRUE(store->query(scan));
  EXPECT_GE(rocksdb::get_perf_context()->next_on_memtable_count, 2900u);
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
}
