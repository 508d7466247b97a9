// bench_event: the event store's figures, each measured side by side with
// its baseline in the same run (see bench/report.hpp for the line format).
//
//   event_append_sync_c64              vs raw RocksDB, batches of 64, sync
//   event_append_sync_c64_vs_threads   vs raw RocksDB, 64 threads, synced Put
//   event_append_sync_c64_encrypted    client events with their personal
//                                      fields sealed, vs the same unsealed
//   event_append_sync_c64_vs_postgres  vs PostgreSQL, 64 connections
//   event_append_async_c64             vs raw RocksDB, batches of 64, no sync
//   event_append_sync_c1               latency p50 (us), vs one synced Put
//   event_read_all                     decode 1M events vs raw iterator
//   event_read_stream_p99_us           one 100-event stream in a 1M log

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <libpq-fe.h>
#include <prometheus/registry.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "actors/runtime.hpp"
#include "bench/report.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "vault/vault.hpp"

using namespace billow;
using namespace billow::events;
using steady = std::chrono::steady_clock;

namespace {

/// Each throughput figure and its baselines are measured in `rounds`
/// interleaved slices of `run_time` (ours, baseline, ours, baseline, ...),
/// so that load from other processes on this shared machine hits both sides
/// alike.
constexpr auto run_time = std::chrono::milliseconds(800);
constexpr int rounds = 3;
constexpr int concurrency = 64;

/// A ~300-byte JSON object payload.
std::string payload_300() {
  std::string p = R"({"service":"0f8e5a4c-2b1d-4c7e-9a3f-6d5e4c3b2a19",)"
                  R"("plan":"vps-large","period":"monthly","amount":"49.90",)"
                  R"("currency":"EUR","note":")";
  p += std::string(300 - p.size() - 2, 'x');
  p += "\"}";
  return p;
}

new_event make_event(const std::string& payload) {
  new_event x;
  x.event_id = uuid::random();
  x.type = "service.renewed";
  x.actor = "system";
  x.payload = payload;
  return x;
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto i = static_cast<size_t>(p * static_cast<double>(xs.size() - 1));
  return xs[i];
}

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

/// CAF scheduler threads for the appenders (BILLOW_BENCH_THREADS, default 2).
size_t bench_scheduler_threads() {
  auto* env = std::getenv("BILLOW_BENCH_THREADS");
  return env ? static_cast<size_t>(std::atoi(env)) : 2;
}

/// Shared between appender actors of one run.
struct append_run {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> events{0};
  std::atomic<int> running{0};
  std::promise<void> done;
  std::mutex latency_mtx;
  std::vector<double> latencies_us;
  bool record_latency = false;
};

/// One appender's state; released when it quits, so the writer handle is.
struct appender_state {
  writer_actor writer;
  std::string stream;
  std::shared_ptr<append_run> run;
  /// Makes each append's payload (for `stream`).
  std::function<std::string(const std::string&)> payload;
};

using appender_ptr = caf::stateful_actor<appender_state>*;

/// Sends the next append, or quits when the run is over.
void send_next(appender_ptr self) {
  auto& st = self->state;
  if (st.run->stop.load()) {
    if (--st.run->running == 0)
      st.run->done.set_value();
    self->quit();
    return;
  }
  auto t0 = steady::now();
  self
    ->request(st.writer, caf::infinite, append_atom::value, st.stream,
              expected_version::any(),
              std::vector<new_event>{make_event(st.payload(st.stream))})
    .then(
      [self, t0](const append_result&) {
        auto& run = *self->state.run;
        run.events.fetch_add(1, std::memory_order_relaxed);
        if (run.record_latency) {
          std::lock_guard<std::mutex> guard{run.latency_mtx};
          run.latencies_us.push_back(
            std::chrono::duration<double, std::micro>(steady::now() - t0)
              .count());
        }
        send_next(self);
      },
      [](caf::error& err) {
        std::fprintf(stderr, "append failed: %s\n", to_string(err).c_str());
        std::abort();
      });
}

/// One appender: sends an append, waits for the durable reply, repeats.
caf::behavior appender(appender_ptr self, writer_actor writer,
                       std::string stream, std::shared_ptr<append_run> run,
                       std::function<std::string(const std::string&)> payload) {
  self->state = {std::move(writer), std::move(stream), std::move(run),
                 std::move(payload)};
  send_next(self);
  return {[](int) {}};
}

/// Runs `n` appenders against a fresh store for `run_time`; events/s.
/// What the appenders of a run append.
enum class append_kind {
  service_300,  ///< a ~300-byte service event
  client,       ///< a client event's fields in clear
  client_sealed ///< the same, personal fields sealed with the client's key
};

/// A client's fields, as `client.created` holds them.
boost::json::object client_fields(const std::string& stream) {
  return {{"name", "Client " + stream},
          {"email", stream + "@example.com"},
          {"address1", "12 Analytical Engine Street"},
          {"city", "London"},
          {"postcode", "EC1A 1BB"},
          {"phone", "+44 20 7946 0000"},
          {"currency", "EUR"},
          {"balance", "0.00"},
          {"login", false}};
}

double store_append_rate(int n, durability d,
                         std::vector<double>* latencies = nullptr,
                         double* mean_batch = nullptr,
                         append_kind kind = append_kind::service_300) {
  test::temp_dir dir{"bench-append"};
  store_options so{dir.sub("db"), nullptr, {}, nullptr, {}};
  so.extra_column_families = vault::vault_column_families();
  auto store = event_store::open(std::move(so));
  if (!store)
    throw std::runtime_error(to_string(store.error()));
  auto vault = vault::open_vault(**store, dir.path() / "keys");
  if (!vault)
    throw std::runtime_error(to_string(vault.error()));
  std::shared_ptr<vault::personal_data> pd = vault->personal;
  auto stream_of = [kind](int i) {
    return (kind == append_kind::service_300 ? "bench-" : "client-bench-")
      + std::to_string(i);
  };
  // Each client's key exists before the clock starts (as for a client
  // whose created event is long past).
  if (kind == append_kind::client_sealed)
    for (int i = 0; i < n; ++i)
      if (!pd->seal(stream_of(i), "warm-up"))
        throw std::runtime_error("sealing failed");
  std::function<std::string(const std::string&)> payload;
  switch (kind) {
    case append_kind::service_300:
      payload = [text = payload_300()](const std::string&) {
        return text;
      };
      break;
    case append_kind::client:
      payload = [](const std::string& stream) {
        return boost::json::serialize(client_fields(stream));
      };
      break;
    case append_kind::client_sealed:
      payload = [pd](const std::string& stream) {
        auto obj = client_fields(stream);
        if (vault::seal_fields(*pd, stream, obj))
          throw std::runtime_error("sealing failed");
        return boost::json::serialize(obj);
      };
      break;
  }
  actors::runtime_options ro;
  ro.scheduler_threads = bench_scheduler_threads();
  auto cfg = actors::make_actor_system_config(ro);
  double rate = 0;
  {
    caf::actor_system sys{*cfg};
    writer_options wo;
    wo.durability = d;
    auto metrics = std::make_shared<prometheus::Registry>();
    wo.metrics = metrics;
    auto writer = make_writer(sys, **store, wo);
    auto run = std::make_shared<append_run>();
    run->record_latency = latencies != nullptr;
    run->running = n;
    auto done = run->done.get_future();
    auto t0 = steady::now();
    for (int i = 0; i < n; ++i)
      sys.spawn(appender, writer, stream_of(i), run, payload);
    std::this_thread::sleep_for(run_time);
    run->stop = true;
    done.wait();
    rate = static_cast<double>(run->events.load()) / seconds_since(t0);
    if (latencies)
      *latencies = run->latencies_us;
    if (mean_batch)
      for (auto& fam : metrics->Collect())
        if (fam.name == "billow_event_commit_batch_appends"
            && !fam.metric.empty() && fam.metric[0].histogram.sample_count > 0)
          *mean_batch = fam.metric[0].histogram.sample_sum
            / static_cast<double>(fam.metric[0].histogram.sample_count);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  }
  return rate;
}

/// A raw RocksDB with one column family "events" (like the store's).
struct raw_db {
  explicit raw_db(const std::string& dir) {
    rocksdb::Options opts;
    opts.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    auto st = rocksdb::DB::Open(opts, dir, &raw);
    if (!st.ok())
      throw std::runtime_error(st.ToString());
    db.reset(raw);
  }
  std::unique_ptr<rocksdb::DB> db;
};

std::string be64(uint64_t x) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i)
    k[i] = static_cast<char>(x >> (56 - 8 * i));
  return k;
}

/// One thread writing WriteBatches of 64 ~300-byte events; events/s.
double raw_batch64_rate(bool sync) {
  test::temp_dir dir{"bench-raw"};
  raw_db r{dir.sub("db")};
  auto value = payload_300() + std::string(120, 'h'); // envelope overhead
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  uint64_t pos = 0;
  auto t0 = steady::now();
  while (steady::now() - t0 < run_time) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < 64; ++i)
      batch.Put(be64(++pos), value);
    if (!r.db->Write(wo, &batch).ok())
      std::abort();
  }
  return static_cast<double>(pos) / seconds_since(t0);
}

/// 64 threads each doing one synced Put per event; events/s.
double raw_threads_rate() {
  test::temp_dir dir{"bench-raw-threads"};
  raw_db r{dir.sub("db")};
  auto value = payload_300() + std::string(120, 'h');
  std::atomic<uint64_t> pos{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(concurrency));
  auto t0 = steady::now();
  for (int t = 0; t < concurrency; ++t)
    threads.emplace_back([&] {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      while (!stop.load())
        if (!r.db->Put(wo, be64(++pos), value).ok())
          std::abort();
    });
  std::this_thread::sleep_for(run_time);
  stop = true;
  for (auto& t : threads)
    t.join();
  return static_cast<double>(pos.load()) / seconds_since(t0);
}

/// Synced single Puts from one thread: latencies in us.
std::vector<double> raw_put_latencies() {
  test::temp_dir dir{"bench-raw-c1"};
  raw_db r{dir.sub("db")};
  auto value = payload_300() + std::string(120, 'h');
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::vector<double> out;
  auto t0 = steady::now();
  for (uint64_t i = 1; steady::now() - t0 < run_time; ++i) {
    auto s = steady::now();
    if (!r.db->Put(wo, be64(i), value).ok())
      std::abort();
    out.push_back(
      std::chrono::duration<double, std::micro>(steady::now() - s).count());
  }
  return out;
}

/// A throwaway cluster with an `events` table as users would write one.
std::unique_ptr<test::postgres_server> postgres_event_store() {
  auto pg = std::make_unique<test::postgres_server>(
    test::postgres_server::options{true, 200});
  {
    auto* c = PQconnectdb(pg->conninfo().c_str());
    if (PQstatus(c) != CONNECTION_OK)
      throw std::runtime_error(PQerrorMessage(c));
    auto* res = PQexec(c,
                       "CREATE TABLE events ("
                       " position bigserial PRIMARY KEY,"
                       " stream text NOT NULL,"
                       " version bigint NOT NULL,"
                       " event_id uuid NOT NULL UNIQUE,"
                       " type text NOT NULL,"
                       " payload jsonb NOT NULL,"
                       " created_at timestamptz NOT NULL DEFAULT now(),"
                       " UNIQUE (stream, version))");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
      throw std::runtime_error(PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
  }
  return pg;
}

/// PostgreSQL as an event store: 64 connections, one transaction per append.
double postgres_rate(test::postgres_server& pg, int round) {
  std::atomic<uint64_t> events{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  auto payload = payload_300();
  // Connect first, so connection setup is not timed.
  std::vector<PGconn*> conns;
  for (int t = 0; t < concurrency; ++t) {
    auto* c = PQconnectdb(pg.conninfo().c_str());
    if (PQstatus(c) != CONNECTION_OK)
      throw std::runtime_error(PQerrorMessage(c));
    conns.push_back(c);
  }
  threads.reserve(static_cast<size_t>(concurrency));
  auto t0 = steady::now();
  for (int t = 0; t < concurrency; ++t)
    threads.emplace_back([&, t] {
      auto* c = conns[static_cast<size_t>(t)];
      auto stream = "bench-" + std::to_string(round) + "-" + std::to_string(t);
      for (uint64_t v = 1; !stop.load(); ++v) {
        auto version = std::to_string(v);
        auto id = to_string(uuid::random());
        const char* params[] = {stream.c_str(), version.c_str(), id.c_str(),
                                payload.c_str()};
        // Single statement in autocommit: one transaction, committed with
        // synchronous_commit=on before the reply.
        auto* res = PQexecParams(
          c,
          "INSERT INTO events (stream, version, event_id, type, payload)"
          " VALUES ($1, $2::bigint, $3::uuid, 'service.renewed', $4::jsonb)",
          4, nullptr, params, nullptr, nullptr, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
          std::fprintf(stderr, "postgres: %s", PQerrorMessage(c));
          failed = true;
        }
        PQclear(res);
        if (failed)
          return;
        events.fetch_add(1, std::memory_order_relaxed);
      }
    });
  std::this_thread::sleep_for(run_time);
  stop = true;
  for (auto& t : threads)
    t.join();
  auto rate = static_cast<double>(events.load()) / seconds_since(t0);
  for (auto* c : conns)
    PQfinish(c);
  if (failed)
    throw std::runtime_error("postgres baseline failed");
  return rate;
}

/// A store holding `n` events; every 10,000th belongs to `target` (so the
/// target stream has n / 10,000 events spread over the whole log).
struct big_log {
  test::temp_dir dir{"bench-read"};
  std::unique_ptr<event_store> store;
  static constexpr const char* target = "bench-target";

  /// Events/s of building the log through `append_group` (no actors):
  /// the store's own append cost.
  double build_rate = 0;

  explicit big_log(uint64_t n) {
    auto s = event_store::open({dir.sub("db"), nullptr, {}, nullptr, {}});
    if (!s)
      throw std::runtime_error(to_string(s.error()));
    store = std::move(*s);
    auto payload = payload_300();
    std::vector<append_request> reqs;
    uint64_t written = 0;
    auto t0 = steady::now();
    while (written < n) {
      reqs.clear();
      for (int i = 0; i < 1000 && written < n; ++i, ++written) {
        auto stream = written % 10'000 == 5'000
          ? std::string{target}
          : "bench-" + std::to_string(written % 5000);
        reqs.push_back(
          {std::move(stream), expected_version::any(), {make_event(payload)}});
      }
      for (auto& r : store->append_group(reqs, durability::async))
        if (!r)
          throw std::runtime_error(to_string(r.error()));
    }
    build_rate = static_cast<double>(n) / seconds_since(t0);
  }
};

void bench_read_all(big_log& log) {
  // Baseline: a raw iterator over the same column family, touching every
  // key and value.
  auto* cf = log.store->column_family("events");
  auto raw_pass = [&] {
    rocksdb::ReadOptions ro;
    ro.readahead_size = 2 << 20;
    std::unique_ptr<rocksdb::Iterator> it{log.store->db().NewIterator(ro, cf)};
    uint64_t n = 0, bytes = 0;
    auto t0 = steady::now();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++n;
      bytes += it->key().size() + it->value().size()
        + static_cast<uint8_t>(it->value()[it->value().size() / 2]);
    }
    if (bytes == 0)
      std::abort();
    return static_cast<double>(n) / seconds_since(t0);
  };
  auto store_pass = [&] {
    uint64_t n = 0, bytes = 0;
    auto t0 = steady::now();
    auto err = log.store->for_each(0, UINT64_MAX, [&](const envelope& x) {
      ++n;
      bytes += x.payload.size();
      return true;
    });
    if (err || bytes == 0)
      std::abort();
    return static_cast<double>(n) / seconds_since(t0);
  };
  // Warm both once, then take the better of two passes each, interleaved.
  raw_pass();
  double raw = 0, ours = 0;
  for (int i = 0; i < 2; ++i) {
    ours = std::max(ours, store_pass());
    raw = std::max(raw, raw_pass());
  }
  bench::print({"event_read_all",
                ours,
                "events/s",
                "raw_rocksdb_iterator_events_cf",
                raw,
                {{"store_append_group_async_events_per_s", log.build_rate}}});
}

void bench_read_stream(big_log& log) {
  std::vector<double> ours, raw;
  auto positions = log.store->read_stream(big_log::target, 1,
                                          read_direction::forward, 1000);
  if (!positions || positions->size() != 100)
    throw std::runtime_error("target stream does not hold 100 events");
  auto* cf = log.store->column_family("events");
  for (int i = 0; i < 2000; ++i) {
    auto t0 = steady::now();
    auto xs = log.store->read_stream(big_log::target, 1,
                                     read_direction::forward, 100);
    ours.push_back(
      std::chrono::duration<double, std::micro>(steady::now() - t0).count());
    if (!xs || xs->size() != 100)
      std::abort();
    // Baseline: 100 raw point reads of the same positions.
    t0 = steady::now();
    std::string value;
    for (auto& x : *positions)
      if (!log.store->db()
             .Get(rocksdb::ReadOptions{}, cf, be64(x.position), &value)
             .ok())
        std::abort();
    raw.push_back(
      std::chrono::duration<double, std::micro>(steady::now() - t0).count());
  }
  auto p99 = percentile(ours, 0.99);
  bench::print(
    {"event_read_stream_p99_us",
     p99,
     "us",
     "raw_rocksdb_100_gets_p99_us",
     percentile(raw, 0.99),
     {{"p50_us", percentile(ours, 0.5)},
      {"events", 100},
      {"log_events", static_cast<double>(log.store->last_position())}}});
}

} // namespace

int main(int argc, char** argv) {
  auto filter = bench::filter_from_args(argc, argv);
  auto want = [&](std::string_view name) {
    return bench::selected(name, filter);
  };
  try {
    bool c64 = want("event_append_sync_c64");
    bool vs_threads = want("event_append_sync_c64_vs_threads");
    bool vs_pg = want("event_append_sync_c64_vs_postgres");
    if (c64 || vs_threads || vs_pg) {
      std::unique_ptr<test::postgres_server> pg;
      if (vs_pg)
        pg = postgres_event_store();
      double ours = 0, batch = 0, raw64 = 0, threads = 0, postgres = 0;
      for (int r = 0; r < rounds; ++r) {
        double b = 0;
        ours += store_append_rate(concurrency, durability::sync, nullptr, &b)
          / rounds;
        batch += b / rounds;
        if (c64)
          raw64 += raw_batch64_rate(true) / rounds;
        if (vs_threads)
          threads += raw_threads_rate() / rounds;
        if (vs_pg)
          postgres += postgres_rate(*pg, r) / rounds;
      }
      if (c64)
        bench::print({"event_append_sync_c64",
                      ours,
                      "events/s",
                      "raw_rocksdb_batch64_sync",
                      raw64,
                      {{"mean_appends_per_commit", batch}}});
      if (vs_threads)
        bench::print({"event_append_sync_c64_vs_threads", ours, "events/s",
                      "raw_rocksdb_64_threads_synced_put", threads});
      if (vs_pg)
        bench::print({"event_append_sync_c64_vs_postgres", ours, "events/s",
                      "postgres15_64_connections_txn_per_append", postgres});
    }
    if (want("event_append_sync_c64_encrypted")) {
      double sealed = 0, clear = 0;
      for (int r = 0; r < rounds; ++r) {
        sealed += store_append_rate(concurrency, durability::sync, nullptr,
                                    nullptr, append_kind::client_sealed)
          / rounds;
        clear += store_append_rate(concurrency, durability::sync, nullptr,
                                   nullptr, append_kind::client)
          / rounds;
      }
      bench::print({"event_append_sync_c64_encrypted", sealed, "events/s",
                    "event_append_sync_c64_same_fields_in_clear", clear});
    }
    if (want("event_append_async_c64")) {
      double ours = 0, batch = 0, raw = 0;
      for (int r = 0; r < rounds; ++r) {
        double b = 0;
        ours += store_append_rate(concurrency, durability::async, nullptr, &b)
          / rounds;
        batch += b / rounds;
        raw += raw_batch64_rate(false) / rounds;
      }
      bench::print({"event_append_async_c64",
                    ours,
                    "events/s",
                    "raw_rocksdb_batch64_nosync",
                    raw,
                    {{"mean_appends_per_commit", batch}}});
    }
    if (want("event_append_sync_c1")) {
      std::vector<double> lat, raw;
      for (int r = 0; r < rounds; ++r) {
        std::vector<double> l;
        store_append_rate(1, durability::sync, &l);
        lat.insert(lat.end(), l.begin(), l.end());
        auto w = raw_put_latencies();
        raw.insert(raw.end(), w.begin(), w.end());
      }
      bench::print({"event_append_sync_c1",
                    percentile(lat, 0.5),
                    "us",
                    "raw_rocksdb_synced_put_p50_us",
                    percentile(raw, 0.5),
                    {{"p50_us", percentile(lat, 0.5)},
                     {"p99_us", percentile(lat, 0.99)},
                     {"raw_p99_us", percentile(raw, 0.99)}}});
    }
    bool read_all = want("event_read_all");
    bool read_stream = want("event_read_stream_p99_us");
    if (read_all || read_stream) {
      big_log log{1'000'000};
      if (read_all)
        bench_read_all(log);
      if (read_stream)
        bench_read_stream(log);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_event: %s\n", e.what());
    return 1;
  }
  return 0;
}
