#include "events/writer.hpp"

#include <atomic>
#include <future>

#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <prometheus/registry.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include "events/errc.hpp"
#include "tests/events/actor_fixture.hpp"

using namespace billow;
using namespace billow::events;

namespace {

std::vector<new_event> events_of(size_t n) {
  std::vector<new_event> xs;
  for (size_t i = 0; i < n; ++i) {
    new_event x;
    x.event_id = uuid::random();
    x.type = "service.created";
    x.actor = "system";
    x.payload = R"({"n":1})";
    xs.push_back(std::move(x));
  }
  return xs;
}

/// Reads a metric family's single histogram (sample count, sample sum).
std::pair<uint64_t, double> histogram(prometheus::Registry& reg,
                                      const std::string& name) {
  for (auto& fam : reg.Collect())
    if (fam.name == name && !fam.metric.empty())
      return {fam.metric[0].histogram.sample_count,
              fam.metric[0].histogram.sample_sum};
  return {0, 0};
}

double counter(prometheus::Registry& reg, const std::string& name) {
  for (auto& fam : reg.Collect())
    if (fam.name == name && !fam.metric.empty())
      return fam.metric[0].counter.value;
  return -1;
}

class writer_test : public test::writer_fixture {};

/// A writer whose store clock blocks the first commit until released, so a
/// test can queue appends behind it deterministically.
class gated_writer_test : public test::writer_fixture {
protected:
  int64_t clock() override {
    if (!gate_passed_.exchange(true)) {
      entered_.set_value();
      released_.get_future().wait();
    }
    return 1'700'000'000'000'000;
  }

  /// Sends `n` appends to `writer` on streams s-0, s-1, ...: the first (one
  /// event) enters the commit and blocks on the clock, the other n - 1
  /// (`events_each` events each) queue in the mailbox behind it. The gate
  /// stays closed until `released_` is set.
  void queue_behind_gate(caf::scoped_actor& self, int n, size_t events_each) {
    self->send(writer, append_atom::value, std::string{"s-0"},
               expected_version::any(), events_of(1));
    entered_.get_future().wait();
    for (int i = 1; i < n; ++i)
      self->send(writer, append_atom::value, "s-" + std::to_string(i),
                 expected_version::any(), events_of(events_each));
  }

  std::atomic<bool> gate_passed_{false};
  std::promise<void> entered_;
  std::promise<void> released_;
};

/// A file system whose WAL files (`*.log`) fail every sync once `fail` is
/// set, as a disk that lost its write cache would.
class failing_sync_fs : public rocksdb::FileSystemWrapper {
public:
  failing_sync_fs()
    : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {
    // nop
  }

  const char* Name() const override {
    return "billow.test.FailingSync";
  }

  rocksdb::IOStatus
  NewWritableFile(const std::string& name, const rocksdb::FileOptions& opts,
                  std::unique_ptr<rocksdb::FSWritableFile>* out,
                  rocksdb::IODebugContext* dbg) override {
    auto st = target()->NewWritableFile(name, opts, out, dbg);
    if (st.ok() && name.size() > 4 && name.ends_with(".log"))
      *out = std::make_unique<wal_file>(std::move(*out), fail);
    return st;
  }

  std::atomic<bool> fail{false};

private:
  class wal_file : public rocksdb::FSWritableFileOwnerWrapper {
  public:
    wal_file(std::unique_ptr<rocksdb::FSWritableFile> f,
             const std::atomic<bool>& fail)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(f)), fail_(fail) {
      // nop
    }

    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* d) override {
      return fail_ ? rocksdb::IOStatus::IOError("injected sync failure")
                   : target()->Sync(o, d);
    }

    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o,
                            rocksdb::IODebugContext* d) override {
      return fail_ ? rocksdb::IOStatus::IOError("injected sync failure")
                   : target()->Fsync(o, d);
    }

  private:
    const std::atomic<bool>& fail_;
  };
};

/// The gated writer over a store whose WAL syncs fail on demand.
class failing_sync_test : public gated_writer_test {
protected:
  std::shared_ptr<rocksdb::Env> env() override {
    return std::shared_ptr<rocksdb::Env>{rocksdb::NewCompositeEnv(fs_)};
  }

  std::shared_ptr<failing_sync_fs> fs_ = std::make_shared<failing_sync_fs>();
};

} // namespace

TEST_F(writer_test, append_replies_with_positions_after_commit) {
  writer = make_writer(*sys, *store);
  caf::scoped_actor self{*sys};
  append_result got;
  self
    ->request(writer, caf::infinite, append_atom::value,
              std::string{"service-1"}, expected_version::no_stream(),
              events_of(3))
    .receive(
      [&](const append_result& r) {
        got = r;
      },
      [&](caf::error& err) {
        FAIL() << to_string(err);
      });
  EXPECT_EQ(got.first_position, 1u);
  EXPECT_EQ(got.last_position, 3u);
  EXPECT_EQ(got.version, 3u);
  // Acknowledged means readable.
  EXPECT_EQ(store->last_position(), 3u);
  EXPECT_EQ(store->read_all(1, 10)->size(), 3u);
}

TEST_F(writer_test, refused_append_replies_with_a_typed_error) {
  writer = make_writer(*sys, *store);
  caf::scoped_actor self{*sys};
  ASSERT_TRUE(
    store->append("service-1", expected_version::any(), events_of(2)));
  billow_errc code = billow_errc::none;
  std::string detail;
  self
    ->request(writer, caf::infinite, append_atom::value,
              std::string{"service-1"}, expected_version::exact(1),
              events_of(1))
    .receive(
      [&](const append_result&) {
        FAIL() << "append succeeded";
      },
      [&](caf::error& err) {
        code = errc_of(err);
        detail = detail_of(err);
      });
  EXPECT_EQ(code, billow_errc::wrong_expected_version);
  EXPECT_NE(detail.find("current_version=2"), std::string::npos);
  self
    ->request(writer, caf::infinite, append_atom::value, std::string{"x"},
              expected_version::any(), std::vector<new_event>{})
    .receive(
      [&](const append_result&) {
        FAIL() << "empty append accepted";
      },
      [&](caf::error& err) {
        code = errc_of(err);
      });
  EXPECT_EQ(code, billow_errc::invalid_argument);
  EXPECT_EQ(store->last_position(), 2u);
}

TEST_F(gated_writer_test, queued_appends_share_one_group_commit) {
  auto metrics = std::make_shared<prometheus::Registry>();
  writer_options opts;
  opts.metrics = metrics;
  writer = make_writer(*sys, *store, opts);
  caf::scoped_actor self{*sys};
  constexpr int n = 50;
  // The first append blocks in the commit while 49 more queue behind it.
  queue_behind_gate(self, n, 2);
  released_.set_value();
  int replies = 0;
  self->receive_for(replies, n)([&](const append_result&) {},
                                [&](caf::error& err) {
                                  FAIL() << to_string(err);
                                });
  EXPECT_EQ(replies, n);
  auto [batches, appends] = histogram(*metrics,
                                      "billow_event_commit_batch_appends");
  // The 49 queued appends share one commit; the first has its own unless
  // the syncer started late enough to cover it with them.
  EXPECT_GE(batches, 1u);
  EXPECT_LE(batches, 2u);
  EXPECT_EQ(appends, n);
  EXPECT_EQ(counter(*metrics, "billow_events_appended_total"), 1 + 49 * 2);
  EXPECT_EQ(counter(*metrics, "billow_event_appends_total"), n);
  EXPECT_EQ(histogram(*metrics, "billow_event_commit_seconds").first, batches);
  EXPECT_EQ(store->last_position(), 99u);
  EXPECT_TRUE(store->verify(1, UINT64_MAX)->ok());
}

TEST_F(writer_test, concurrent_appenders_get_gapless_distinct_positions) {
  writer_options opts;
  opts.durability = durability::async;
  writer = make_writer(*sys, *store, opts);
  constexpr int appenders = 16;
  constexpr int per_appender = 20;
  std::vector<std::future<std::vector<append_result>>> results;
  results.reserve(appenders);
  for (int a = 0; a < appenders; ++a)
    results.push_back(std::async(std::launch::async, [&, a] {
      caf::scoped_actor self{*sys};
      std::vector<append_result> out;
      uint64_t version = 0;
      for (int i = 0; i < per_appender; ++i)
        self
          ->request(writer, caf::infinite, append_atom::value,
                    "stream-" + std::to_string(a),
                    expected_version::exact(version), events_of(1 + i % 3))
          .receive(
            [&](const append_result& r) {
              out.push_back(r);
              version = r.version;
            },
            [&](caf::error& err) {
              ADD_FAILURE() << to_string(err);
            });
      return out;
    }));
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto& f : results) {
    auto rs = f.get();
    EXPECT_EQ(rs.size(), static_cast<size_t>(per_appender));
    for (auto& r : rs)
      ranges.emplace_back(r.first_position, r.last_position);
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t next = 1;
  for (auto& [first, last] : ranges) {
    EXPECT_EQ(first, next);
    next = last + 1;
  }
  EXPECT_EQ(store->last_position(), next - 1);
  EXPECT_TRUE(store->verify(1, UINT64_MAX)->ok());
}

// A failed fsync on the writer's own thread (one appender, nothing waiting):
// the append is answered storage_unavailable (not known to be durable) and
// never published; the writer keeps running, and later appends are refused
// with the same kind of error while the store takes no writes (a failed
// fsync is fatal to RocksDB: only a restart recovers it).
TEST_F(failing_sync_test, a_failed_fsync_is_answered_and_the_writer_goes_on) {
  gate_passed_ = true; // open the gate: this test needs no queue behind it
  writer = make_writer(*sys, *store);
  caf::scoped_actor self{*sys};
  auto append = [&](const std::string& stream) {
    caf::expected<append_result> out{caf::none};
    self
      ->request(writer, caf::infinite, append_atom::value, stream,
                expected_version::any(), events_of(1))
      .receive(
        [&](const append_result& r) {
          out = r;
        },
        [&](caf::error& err) {
          out = std::move(err);
        });
    return out;
  };
  ASSERT_TRUE(append("s-ok"));
  EXPECT_EQ(store->last_position(), 1u);
  fs_->fail = true;
  auto failed = append("s-lost");
  ASSERT_FALSE(failed);
  EXPECT_EQ(errc_of(failed.error()), billow_errc::storage_unavailable)
    << to_string(failed.error());
  EXPECT_EQ(store->last_position(), 1u);
  auto after = append("s-after");
  ASSERT_FALSE(after);
  EXPECT_EQ(errc_of(after.error()), billow_errc::storage_unavailable)
    << to_string(after.error());
  EXPECT_EQ(store->last_position(), 1u);
  EXPECT_EQ(store->storage(), storage_state::failed);
}

// A failed fsync on the syncer while more appends were written behind it:
// every append of the failed round and every one written after it gets an
// error (storage_unavailable); none is acknowledged.
TEST_F(failing_sync_test,
       a_failed_fsync_on_the_syncer_fails_every_waiting_append) {
  writer = make_writer(*sys, *store);
  caf::scoped_actor self{*sys};
  constexpr int n = 30;
  queue_behind_gate(self, n, 1);
  fs_->fail = true;
  released_.set_value();
  int ok = 0;
  int errors = 0;
  int replies = 0;
  self->receive_for(replies, n)(
    [&](const append_result&) {
      ++ok;
    },
    [&](caf::error&) {
      ++errors;
    });
  EXPECT_EQ(ok, 0);
  EXPECT_EQ(errors, n);
  EXPECT_EQ(store->last_position(), 0u);
}
