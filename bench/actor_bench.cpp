// bench_actor: the actor runtime's figures (see bench/report.hpp for the
// line format).
//
//   event_append_sync_c64           baseline: 64 appenders straight to the
//                                   writer, one ~300-byte event each, sync
//   actor_command_roundtrip_c64     64 callers, suspend/unsuspend through the
//                                   registry to distinct services, each
//                                   waiting for the durable reply (the jobs
//                                   the commands queue run meanwhile on the
//                                   same writer); commands/s vs the baseline,
//                                   with the process's CPU per command
//   actor_command_roundtrip_c64_no_module
//                                   the same for services of a product
//                                   without a module: no job, one event per
//                                   command (the runtime's own overhead)
//   actor_idle_bytes                RSS growth per live idle service actor
//                                   when 100,000 stored services are made
//                                   live (registry entry included)
//   actor_rehydrate_snapshot_us     rebuild a 1,000-event service from its
//                                   snapshot (aggregate::load), p50
//   actor_rehydrate_no_snapshot_us  the same without a snapshot
//
// The two throughput figures run in interleaved slices (baseline, actors,
// baseline, ...) against the same store and writer, so that load from other
// processes on this shared machine hits both alike.

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/clock.hpp"
#include "actors/context.hpp"
#include "actors/job.hpp"
#include "actors/module_port.hpp"
#include "actors/runtime.hpp"
#include "actors/service.hpp"
#include "actors/service_state.hpp"
#include "actors/worker_pool.hpp"
#include "bench/report.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using namespace billow::actors;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto slice = std::chrono::milliseconds(800);
constexpr int rounds = 3;
constexpr int callers = 64;
constexpr int services_per_caller = 8;

/// A module that answers at once: the figure is the runtime's, not a
/// module's.
class instant_module : public module_port {
public:
  caf::expected<std::string> run_job(const job_call&) override {
    return std::string{"{}"};
  }
};

std::string payload_300() {
  std::string p = R"({"service":"0f8e5a4c-2b1d-4c7e-9a3f-6d5e4c3b2a19",)"
                  R"("plan":"vps-large","period":"monthly","amount":"49.90",)"
                  R"("currency":"EUR","note":")";
  p += std::string(300 - p.size() - 2, 'x');
  p += "\"}";
  return p;
}

size_t rss_bytes() {
  std::ifstream in{"/proc/self/statm"};
  size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<size_t>(p * static_cast<double>(xs.size() - 1))];
}

/// Everything one benchmark needs: store, system, writer, runtime.
struct bench_runtime {
  explicit bench_runtime(events::durability d,
                         registry_options ropts = registry_options{},
                         aggregate_options aopts = aggregate_options{}) {
    events::store_options so;
    so.dir = dir.sub("db");
    so.clock = [this] {
      return clock.now_us();
    };
    auto s = events::event_store::open(so);
    if (!s)
      throw std::runtime_error(to_string(s.error()));
    store = std::move(*s);
    runtime_options ro;
    ro.scheduler_threads = 2;
    cfg = make_actor_system_config(ro);
    sys = std::make_unique<caf::actor_system>(*cfg);
    pool = std::make_unique<worker_pool>(4);
    events::writer_options wo;
    wo.durability = d;
    ctx.store = store.get();
    ctx.writer = events::make_writer(*sys, *store, wo);
    ctx.clock = &clock;
    ctx.pool = pool.get();
    ctx.modules = &module;
    ctx.snapshots = make_snapshot_writer(*sys, *store);
    ctx.aggregates = aopts;
    jobs = make_job_manager(*sys, ctx);
    services = make_service_registry(*sys, ctx, jobs, ropts);
  }

  ~bench_runtime() {
    {
      caf::scoped_actor self{*sys};
      for (const auto& h :
           {caf::actor_cast<caf::actor>(services),
            caf::actor_cast<caf::actor>(jobs),
            caf::actor_cast<caf::actor>(ctx.writer), ctx.snapshots}) {
        self->send_exit(h, caf::exit_reason::kill);
        self->wait_for(h);
      }
    }
    ctx.writer = nullptr;
    ctx.snapshots = nullptr;
    jobs = nullptr;
    services = nullptr;
    sys.reset();
    pool.reset();
    store.reset();
  }

  test::temp_dir dir{"bench-actor"};
  manual_clock clock;
  instant_module module;
  std::unique_ptr<events::event_store> store;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<worker_pool> pool;
  runtime_context ctx;
  job_manager_actor jobs;
  service_registry_actor services;
};

/// Shared by the callers of one slice.
struct slice_run {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done_ok{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<int> running{0};
  std::promise<void> finished;
};

void caller_done(caf::event_based_actor* self, slice_run& run) {
  if (--run.running == 0)
    run.finished.set_value();
  self->quit();
}

/// Baseline caller: one ~300-byte event per append, straight to the writer.
void append_loop(caf::event_based_actor* self,
                 const events::writer_actor& writer, const std::string& stream,
                 const std::shared_ptr<slice_run>& run,
                 const std::shared_ptr<std::string>& payload) {
  if (run->stop) {
    caller_done(self, *run);
    return;
  }
  events::new_event x;
  x.event_id = events::uuid::random();
  x.type = "service.renewed";
  x.actor = "system";
  x.payload = *payload;
  self
    ->request(writer, caf::infinite, events::append_atom::value, stream,
              events::expected_version::any(),
              std::vector<events::new_event>{std::move(x)})
    .then(
      [=](const events::append_result&) {
        run->done_ok.fetch_add(1, std::memory_order_relaxed);
        append_loop(self, writer, stream, run, payload);
      },
      [](caf::error& err) {
        std::fprintf(stderr, "append failed: %s\n", to_string(err).c_str());
        std::abort();
      });
}

/// Actor caller: rotates over its services, suspending the active ones and
/// unsuspending the suspended ones, one command at a time.
struct caller_services {
  std::vector<events::uuid> ids;
  std::vector<bool> suspended;
  size_t next = 0;
};

void command_loop(caf::event_based_actor* self,
                  const service_registry_actor& reg,
                  const std::shared_ptr<caller_services>& mine,
                  const std::shared_ptr<slice_run>& run) {
  if (run->stop) {
    caller_done(self, *run);
    return;
  }
  auto i = mine->next++ % mine->ids.size();
  service_command cmd;
  cmd.op = mine->suspended[i] ? service_op::unsuspend : service_op::suspend;
  self->request(reg, caf::infinite, svc_cmd_atom::value, mine->ids[i], cmd)
    .then(
      [=](const command_result&) {
        mine->suspended[i] = !mine->suspended[i];
        run->done_ok.fetch_add(1, std::memory_order_relaxed);
        command_loop(self, reg, mine, run);
      },
      [=](caf::error& err) {
        if (errc_of(err) != billow_errc::invalid_transition) {
          std::fprintf(stderr, "command failed: %s\n", to_string(err).c_str());
          std::abort();
        }
        // The service's previous job is still running: try the next one.
        run->refused.fetch_add(1, std::memory_order_relaxed);
        command_loop(self, reg, mine, run);
      });
}

void roundtrip(const std::string& filter) {
  bool with_jobs = bench::selected("actor_command_roundtrip_c64", filter);
  bool manual = bench::selected("actor_command_roundtrip_c64_no_module",
                                filter);
  // event_append_sync_c64 is measured here only as these figures' baseline;
  // bench_event prints it as a figure of its own.
  if (!with_jobs && !manual)
    return;
  bench_runtime rt{events::durability::sync};
  // 64 x 8 active services.
  // owned[0]: services of a product with a module (each command queues its
  // job); owned[1]: services of a product without one (manual provisioning:
  // the command's event is its outcome, no job).
  std::vector<std::shared_ptr<caller_services>> owned[2];
  {
    caf::scoped_actor self{*rt.sys};
    std::vector<events::uuid> all;
    for (int c = 0; c < 2 * callers; ++c) {
      auto mine = std::make_shared<caller_services>();
      for (int k = 0; k < services_per_caller; ++k) {
        auto id = events::uuid::random();
        open_service o{events::uuid::random(), events::uuid::random(),
                       c < callers ? "Product/bench" : "", "system", ""};
        self->request(rt.services, caf::infinite, svc_open_atom::value, id, o)
          .receive([](const command_result&) {},
                   [](caf::error& e) {
                     std::fprintf(stderr, "%s\n", to_string(e).c_str());
                     std::abort();
                   });
        service_command create;
        create.op = service_op::create;
        self
          ->request(rt.services, caf::infinite, svc_cmd_atom::value, id, create)
          .receive([](const command_result&) {},
                   [](caf::error& e) {
                     std::fprintf(stderr, "%s\n", to_string(e).c_str());
                     std::abort();
                   });
        mine->ids.push_back(id);
        mine->suspended.push_back(false);
        all.push_back(id);
      }
      owned[c < callers ? 0 : 1].push_back(mine);
    }
    for (auto& id : all)
      for (bool active = false; !active;)
        self->request(rt.services, caf::infinite, query_atom::value, id)
          .receive(
            [&](const service_view& v) {
              active = v.status == service_status::active;
            },
            [](caf::error&) {
              std::abort();
            });
  }
  auto payload = std::make_shared<std::string>(payload_300());
  // Slices: 0 baseline, 1 commands with jobs, 2 commands without module.
  double ops[3] = {0, 0, 0}, secs_total[3] = {0, 0, 0}, cpu[3] = {0, 0, 0};
  uint64_t refused = 0;
  uint64_t log_events[3] = {0, 0, 0};
  for (int r = 0; r < rounds; ++r) {
    for (int side = 0; side < 3; ++side) {
      if ((side == 1 && !with_jobs) || (side == 2 && !manual))
        continue;
      auto pos0 = rt.store->last_position();
      auto run = std::make_shared<slice_run>();
      run->running = callers;
      auto fin = run->finished.get_future();
      auto t0 = steady::now();
      auto c0 = bench::process_cpu_seconds();
      for (int c = 0; c < callers; ++c) {
        if (side == 0)
          rt.sys->spawn(append_loop, rt.ctx.writer,
                        "bench-" + std::to_string(c), run, payload);
        else
          rt.sys->spawn(command_loop, rt.services, owned[side - 1][c], run);
      }
      std::this_thread::sleep_for(slice);
      run->stop = true;
      fin.wait();
      auto secs = std::chrono::duration<double>(steady::now() - t0).count();
      cpu[side] += bench::process_cpu_seconds() - c0;
      ops[side] += static_cast<double>(run->done_ok.load());
      secs_total[side] += secs;
      if (side == 1)
        refused += run->refused.load();
      // Let the jobs of this slice finish before the next one starts.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      log_events[side] += rt.store->last_position() - pos0;
    }
  }
  auto base = ops[0] / secs_total[0];
  auto actor_ops = ops[1];
  auto actor_s = secs_total[1];
  auto actor_events = log_events[1];
  if (manual)
    bench::print(
      {"actor_command_roundtrip_c64_no_module",
       ops[2] / secs_total[2],
       "commands/s",
       "event_append_sync_c64",
       base,
       {{"log_events_per_command", static_cast<double>(log_events[2]) / ops[2]},
        {"cpu_us_per_command", cpu[2] * 1e6 / ops[2]}}});
  if (with_jobs)
    bench::print(
      {"actor_command_roundtrip_c64",
       actor_ops / actor_s,
       "commands/s",
       "event_append_sync_c64",
       base,
       {{"refused_busy_per_s", static_cast<double>(refused) / actor_s},
        // Each command is 1 service event on the reply path plus
        // its job's events and the outcome, all on one writer.
        {"log_events_per_command",
         static_cast<double>(actor_events) / actor_ops},
        {"cpu_us_per_command", cpu[1] * 1e6 / actor_ops}}});
}

void idle_bytes(const std::string& filter) {
  if (!bench::selected("actor_idle_bytes", filter))
    return;
  constexpr size_t total = 100'000;
  registry_options ro;
  ro.idle_timeout = std::chrono::hours{1};
  ro.max_live = 2 * total;
  aggregate_options ao;
  ao.snapshot_every = 0;
  bench_runtime rt{events::durability::async, ro, ao};
  std::vector<events::uuid> ids(total);
  for (auto& id : ids)
    id = events::uuid::random();
  // Makes every service live: `total` queries, 512 in flight.
  auto make_live = [&] {
    std::promise<void> done;
    auto fut = done.get_future();
    auto reg = rt.services;
    // nullptr: CAF 0.17.6 needs an argument (docs/architecture.md).
    rt.sys->spawn(
      [&, reg](caf::event_based_actor* self, std::nullptr_t) {
        auto next = std::make_shared<size_t>(0);
        auto answered = std::make_shared<size_t>(0);
        auto step = std::make_shared<std::function<void()>>();
        *step = [=, &ids, &done] {
          if (*next >= total)
            return;
          auto id = ids[(*next)++];
          self->request(reg, caf::infinite, query_atom::value, id)
            .then(
              [=, &done](const service_view&) {
                if (++*answered == total)
                  done.set_value();
                (*step)();
              },
              [](caf::error&) {
                std::abort();
              });
        };
        for (int i = 0; i < 512; ++i)
          (*step)();
      },
      nullptr);
    fut.wait();
  };
  // The services' events are written straight to the store first, so that
  // the memtable has grown before the baseline is taken; then making all of
  // them live (each rehydrates from the log) costs only actors and registry
  // entries. No actor existed before the baseline, so freed actor memory
  // cannot hide in it.
  for (auto& id : ids) {
    open_service o{events::uuid::random(), events::uuid::random(),
                   "Product/bench", "system", ""};
    auto evs = decide_open(service_state{}, o);
    auto news = to_new_events(service_stream(id), "", "system", *evs);
    auto r = rt.store->append(service_stream(id),
                              events::expected_version::no_stream(),
                              std::move(news), events::durability::async);
    if (!r)
      throw std::runtime_error(to_string(r.error()));
  }
  ::malloc_trim(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto before = rss_bytes();
  make_live();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto after = rss_bytes();
  uint64_t live = 0;
  {
    caf::scoped_actor self{*rt.sys};
    self->request(rt.services, caf::infinite, stats_atom::value)
      .receive(
        [&](const registry_stats& s) {
          live = s.live;
        },
        [](caf::error&) {
          std::abort();
        });
  }
  auto per = static_cast<double>(after > before ? after - before : 0)
    / static_cast<double>(live);
  bench::print({"actor_idle_bytes",
                per,
                "bytes",
                std::nullopt,
                std::nullopt,
                {{"live_actors", static_cast<double>(live)},
                 {"rss_before_mb", static_cast<double>(before) / 1048576.0},
                 {"rss_after_mb", static_cast<double>(after) / 1048576.0}}});
}

void rehydrate(const std::string& filter) {
  bool snap = bench::selected("actor_rehydrate_snapshot_us", filter);
  bool nosnap = bench::selected("actor_rehydrate_no_snapshot_us", filter);
  if (!snap && !nosnap)
    return;
  constexpr int streams = 50;
  constexpr int events_per = 1000;
  test::temp_dir dir{"bench-rehydrate"};
  auto opened
    = events::event_store::open({dir.sub("db"), nullptr, {}, nullptr, {}});
  if (!opened)
    throw std::runtime_error(to_string(opened.error()));
  auto& store = **opened;
  // Services with 1,000 real lifecycle events each: opened, provisioned,
  // then suspend/unsuspend round trips (requested + outcome).
  auto make_stream = [&](const events::uuid& id) {
    auto stream = service_stream(id);
    std::vector<events::new_event> evs;
    auto add = [&](std::string type, std::string payload) {
      events::new_event x;
      x.event_id = events::uuid::random();
      x.type = std::move(type);
      x.actor = "admin:1";
      x.payload = std::move(payload);
      evs.push_back(std::move(x));
    };
    auto job = [] {
      return "{\"job_id\":\"" + to_string(events::uuid::random())
        + "\",\"reason\":\"bench\",\"policy\":{\"tries\":3,"
          "\"backoff\":[10],\"timeout\":600,\"max_exceptions\":2}}";
    };
    add("service.opened",
        "{\"client_id\":\"" + to_string(events::uuid::random())
          + "\",\"product_id\":\"" + to_string(events::uuid::random())
          + "\",\"module\":\"Product/bench\"}");
    add("service.create_requested", job());
    add("service.provisioned", "{\"result\":\"{}\"}");
    const char* cycle[] = {"service.suspend_requested", "service.suspended",
                           "service.unsuspend_requested",
                           "service.unsuspended"};
    for (int i = 0; evs.size() < events_per; ++i) {
      auto t = cycle[i % 4];
      add(t, i % 2 == 0 ? job() : std::string{"{\"result\":\"{}\"}"});
    }
    auto r = store.append(stream, events::expected_version::no_stream(),
                          std::move(evs), events::durability::async);
    if (!r)
      throw std::runtime_error(to_string(r.error()));
    return stream;
  };
  std::vector<events::uuid> with, without;
  for (int i = 0; i < streams; ++i) {
    with.push_back(events::uuid::random());
    without.push_back(events::uuid::random());
    make_stream(with.back());
    make_stream(without.back());
    // The snapshot the runtime would have taken at version 1,000.
    aggregate<service_state> agg;
    agg.stream = service_stream(with.back());
    if (auto err = agg.load(store))
      throw std::runtime_error(to_string(err));
    if (auto err = store.save_snapshot(agg.stream, agg.version,
                                       agg.snapshot_bytes()))
      throw std::runtime_error(to_string(err));
  }
  auto measure = [&](const std::vector<events::uuid>& ids) {
    std::vector<double> us;
    for (int rep = 0; rep < 5; ++rep)
      for (auto& id : ids) {
        auto t0 = steady::now();
        aggregate<service_state> agg;
        agg.stream = service_stream(id);
        auto err = agg.load(store);
        us.push_back(
          std::chrono::duration<double, std::micro>(steady::now() - t0)
            .count());
        if (err || agg.version != events_per
            || agg.state.status != service_status::active)
          throw std::runtime_error("rehydration went wrong");
      }
    return us;
  };
  if (snap) {
    auto us = measure(with);
    bench::print({"actor_rehydrate_snapshot_us",
                  percentile(us, 0.5),
                  "us",
                  std::nullopt,
                  std::nullopt,
                  {{"p99_us", percentile(us, 0.99)},
                   {"events", static_cast<double>(events_per)}}});
  }
  if (nosnap) {
    auto us = measure(without);
    bench::print({"actor_rehydrate_no_snapshot_us",
                  percentile(us, 0.5),
                  "us",
                  std::nullopt,
                  std::nullopt,
                  {{"p99_us", percentile(us, 0.99)},
                   {"events", static_cast<double>(events_per)}}});
  }
}

} // namespace

int main(int argc, char** argv) {
  auto filter = bench::filter_from_args(argc, argv);
  try {
    rehydrate(filter);
    roundtrip(filter);
    idle_bytes(filter);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_actor: %s\n", e.what());
    return 1;
  }
  return 0;
}
