// Benchmarks of the projections (issue 6):
//   projection_rebuild_events_per_s   the provisioning projection's full
//                                     rebuild (what `billow replay
//                                     provisioning` runs) over 1M events,
//                                     vs event_read_all (decode the same log
//                                     into envelopes), same run

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <rocksdb/db.h>

#include "bench/report.hpp"
#include "events/event_store.hpp"
#include "projections/known.hpp"
#include "projections/provisioning.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using namespace billow::events;
using steady = std::chrono::steady_clock;

namespace {

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

/// One service's life as its aggregate and its jobs write it: opened,
/// provisioned through a job (job.queued/started/succeeded with the module's
/// service_data), then suspend/unsuspend rounds and a package change, some
/// terminated at the end.
struct service_life {
  std::string id;
  std::string client;
  std::string product;
  std::string job;
  int step = 0;
  int rounds = 0;
};

new_event event(std::string type, std::string payload) {
  new_event x;
  x.event_id = uuid::random();
  x.type = std::move(type);
  x.actor = "admin:7d1c5a1e-3f0b-4c1e-9a59-2f0c6b1d9e11";
  x.payload = std::move(payload);
  return x;
}

/// The next event of `s` and its stream; false when its life is over.
bool next_event(service_life& s, std::string& stream, new_event& ev) {
  auto svc = "service-" + s.id;
  auto job = "job-" + s.job;
  int last_round = 4 + 2 * s.rounds;
  switch (s.step) {
    case 0:
      stream = svc;
      ev = event("service.opened",
                 fmt::format(R"({{"client_id":"{}","product_id":"{}",)"
                             R"("module":"Product/postgres"}})",
                             s.client, s.product));
      break;
    case 1:
      stream = svc;
      ev = event("service.create_requested",
                 fmt::format(R"({{"reason":"","job_id":"{}","policy":)"
                             R"({{"tries":3,"backoff":[5,30,120],)"
                             R"("timeout":600,"max_exceptions":2}}}})",
                             s.job));
      break;
    case 2:
      stream = job;
      ev = event("job.queued",
                 fmt::format(R"({{"job_id":"{}","module":"Product/postgres",)"
                             R"("method":"create_job","service_id":"{}",)"
                             R"("input":"{{}}","tags":["create"],"policy":)"
                             R"({{"tries":3,"backoff":[5,30,120],)"
                             R"("timeout":600,"max_exceptions":2}}}})",
                             s.job, s.id));
      break;
    case 3:
      stream = job;
      ev = event("job.started", R"({"attempt":1})");
      break;
    case 4:
      stream = job;
      ev = event("job.succeeded",
                 R"({"attempt":1,"result":"{\"service_data\":{\"db_name\":)"
                 R"(\"acme_x1\",\"db_user\":\"acme_x1\",\"db_password\":)"
                 R"(\"sealed:v1:9f8e7d6c5b4a\",\"host\":\"db1\"}}"})");
      break;
    case 5:
      stream = svc;
      ev = event("service.provisioned",
                 fmt::format(R"({{"job_id":"{}","result":"{{\"service_data\")"
                             R"(:{{\"db_name\":\"acme_x1\",\"db_user\":)"
                             R"(\"acme_x1\",\"db_password\":)"
                             R"(\"sealed:v1:9f8e7d6c5b4a\",\"host\":)"
                             R"(\"db1\"}}}}"}})",
                             s.job));
      break;
    default:
      if (s.step > 5 + last_round)
        return false;
      stream = svc;
      if (s.step == 5 + last_round)
        ev = event("service.terminated",
                   R"({"reason":"cancelled by client","manual":true})");
      else if (s.step % 2 == 0)
        ev = event("service.suspended",
                   R"({"reason":"invoice overdue","manual":true})");
      else
        ev = event("service.unsuspended", R"({"reason":"paid","manual":true})");
  }
  ++s.step;
  return true;
}

/// A log of `n` events: service lives interleaved, about 2,000 in flight.
struct lifecycle_log {
  test::temp_dir dir{"bench-projection"};
  std::unique_ptr<event_store> store;
  uint64_t services = 0;

  explicit lifecycle_log(uint64_t n) {
    store_options opts;
    opts.dir = dir.sub("db");
    opts.extra_column_families = projections::projection_column_families();
    auto s = event_store::open(opts);
    if (!s)
      throw std::runtime_error(to_string(s.error()));
    store = std::move(*s);
    std::mt19937_64 rng{42};
    std::vector<std::string> clients, products;
    for (int i = 0; i < 5000; ++i)
      clients.push_back(to_string(uuid::random()));
    for (int i = 0; i < 20; ++i)
      products.push_back(to_string(uuid::random()));
    auto fresh = [&] {
      return service_life{to_string(uuid::random()),
                          clients[rng() % clients.size()],
                          products[rng() % products.size()],
                          to_string(uuid::random()),
                          0,
                          static_cast<int>(rng() % 8)};
    };
    std::vector<service_life> live;
    live.reserve(2000);
    for (int i = 0; i < 2000; ++i)
      live.push_back(fresh());
    std::vector<append_request> reqs;
    uint64_t written = 0;
    while (written < n) {
      reqs.clear();
      for (int i = 0; i < 1000 && written < n;) {
        auto& s = live[rng() % live.size()];
        std::string stream;
        new_event ev;
        if (!next_event(s, stream, ev)) {
          s = fresh();
          continue;
        }
        if (s.step == 1)
          ++services; // it was opened
        reqs.push_back({std::move(stream), expected_version::any(), {ev}});
        ++i;
        ++written;
      }
      for (auto& r : store->append_group(reqs, durability::async))
        if (!r)
          throw std::runtime_error(to_string(r.error()));
    }
    if (auto err = store->sync_wal())
      throw std::runtime_error(to_string(err));
    settle();
  }

  /// Flushes every family and waits for background compactions, so that
  /// the build's backlog does not stall the measured writes.
  void settle() const {
    std::vector<rocksdb::ColumnFamilyHandle*> cfs;
    for (const auto* name :
         {"events", "streams", "ids", "checkpoints", "snapshots", "by_type",
          "by_actor", "by_correlation", "proj_provisioning", "proj_jobs"})
      if (auto* cf = store->column_family(name))
        cfs.push_back(cf);
    auto& db = store->db();
    rocksdb::FlushOptions fo;
    fo.wait = true;
    db.Flush(fo, cfs);
    for (;;) {
      uint64_t busy = 0, v = 0;
      for (auto* prop :
           {"rocksdb.compaction-pending", "rocksdb.num-running-compactions",
            "rocksdb.num-running-flushes"})
        for (auto* cf : cfs)
          if (db.GetIntProperty(cf, prop, &v))
            busy += v;
      if (busy == 0)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
};

} // namespace

int main(int argc, char** argv) {
  auto filter = bench::filter_from_args(argc, argv);
  if (!bench::selected("projection_rebuild_events_per_s", filter))
    return 0;
  constexpr uint64_t n = 1'000'000;
  lifecycle_log log{n};
  // CPU seconds of the whole process (both threads of a pipelined rebuild,
  // RocksDB's background work): the figures load on this shared machine
  // disturbs least.
  auto cpu_s = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec)
      + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  double read_cpu = 1e9, rebuild_cpu = 1e9;
  // Baseline: event_read_all's pass, decoding every envelope.
  auto read_pass = [&] {
    uint64_t count = 0, bytes = 0;
    auto c0 = cpu_s();
    auto t0 = steady::now();
    auto err = log.store->for_each(0, UINT64_MAX, [&](const envelope& x) {
      ++count;
      bytes += x.payload.size();
      return true;
    });
    if (err || count != n || bytes == 0)
      throw std::runtime_error("read_all pass failed");
    auto rate = static_cast<double>(count) / seconds_since(t0);
    read_cpu = std::min(read_cpu, cpu_s() - c0);
    return rate;
  };
  uint64_t services = 0;
  auto rebuild_pass = [&] {
    projections::provisioning proj;
    auto c0 = cpu_s();
    auto t0 = steady::now();
    auto events = proj.rebuild(*log.store);
    auto rate = static_cast<double>(n) / seconds_since(t0);
    if (!events || *events != n)
      throw std::runtime_error("rebuild failed");
    rebuild_cpu = std::min(rebuild_cpu, cpu_s() - c0);
    services = proj.service_count();
    return rate;
  };
  read_pass(); // warm the cache
  double ours = 0, base = 0;
  // Best of three interleaved passes each: the machine is shared.
  for (int i = 0; i < 3; ++i) {
    log.settle();
    ours = std::max(ours, rebuild_pass());
    log.settle();
    base = std::max(base, read_pass());
  }
  if (services != log.services)
    throw std::runtime_error(fmt::format("rebuild saw {} services, log has {}",
                                         services, log.services));
  bench::print({"projection_rebuild_events_per_s",
                ours,
                "events/s",
                "event_read_all",
                base,
                {{"services", static_cast<double>(services)},
                 {"cpu_s", rebuild_cpu},
                 {"baseline_cpu_s", read_cpu}}});
  return 0;
}
