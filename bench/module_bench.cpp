// bench_module: module job throughput (see bench/report.hpp for the line
// format).
//
//   module_noop_job_throughput   jobs/s of a no-op Product module job, from
//                                the module's `tasks().add` (the SDK's
//                                Task::add, on the real job_task_queue) to
//                                its durable `job.succeeded`, sync
//                                durability, 64 module threads adding jobs
//                                (each add waits for `job.queued`, as module
//                                code does; the jobs run on meanwhile, so
//                                many are in flight). Baseline:
//                                event_append_sync_c64 (64 appenders straight
//                                to the writer, one ~300-byte event each),
//                                measured in interleaved slices in the same
//                                run. Extra: log events per job, jobs in
//                                flight at the end of the adding phase, and
//                                where a job's time goes (add round trip).

#include <sys/resource.h>
#include <time.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/clock.hpp"
#include "actors/context.hpp"
#include "actors/job.hpp"
#include "actors/module_port.hpp"
#include "actors/runtime.hpp"
#include "actors/worker_pool.hpp"
#include "bench/report.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"
#include "modules/host/module_jobs.hpp"
#include "modules/sdk/module_context.hpp"
#include "modules/sdk/product.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using steady = std::chrono::steady_clock;
namespace sdk = billow::modules::sdk;

namespace {

/// CPU time this process used so far (all threads), in microseconds.
double cpu_us() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto us = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
  };
  return us(u.ru_utime) + us(u.ru_stime);
}

/// CPU time of each live thread of this process: tid -> (name, us).
std::map<std::string, std::pair<std::string, double>> thread_cpu() {
  std::map<std::string, std::pair<std::string, double>> out;
  auto tick_us = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm{e.path() / "comm"};
    std::string name;
    std::getline(comm, name);
    std::ifstream st{e.path() / "stat"};
    std::string line;
    std::getline(st, line);
    auto rp = line.rfind(')');
    if (rp == std::string::npos)
      continue;
    // After the name: state, then 10 fields before utime and stime.
    std::istringstream in{line.substr(rp + 2)};
    std::vector<std::string> fs;
    for (std::string f; in >> f;)
      fs.push_back(f);
    if (fs.size() < 13)
      continue;
    out[e.path().filename().string()]
      = {name, (std::stod(fs[11]) + std::stod(fs[12])) * tick_us};
  }
  return out;
}

/// Adds the CPU each thread group used between `before` and `after` to
/// `acc` (threads present in both; CAF names its scheduler workers
/// `caf.multiplexer`, detached actors `caf.actor`, its timer `caf.clock`).
void add_thread_cpu(
  const std::map<std::string, std::pair<std::string, double>>& before,
  const std::map<std::string, std::pair<std::string, double>>& after,
  std::map<std::string, double>& acc) {
  for (const auto& [tid, x] : after)
    if (auto i = before.find(tid); i != before.end())
      acc[x.first] += x.second - i->second.second;
}

constexpr auto slice = std::chrono::milliseconds(1000);
constexpr int rounds = 3;
constexpr int callers = 64;

/// A Product module whose one job does nothing: the figure is Billow's.
class noop_product : public sdk::product {
public:
  noop_product() {
    register_job("noop_job", [](sdk::job_call&) -> caf::expected<void> {
      return caf::unit;
    });
  }
};

/// The module port for jobs without a service, as catalog_module_port runs
/// them (minus the catalog's lookup of the active instance).
class direct_port : public actors::module_port {
public:
  explicit direct_port(std::shared_ptr<sdk::module> m) : module_(std::move(m)) {
    // nop
  }

  caf::expected<std::string> run_job(const actors::job_call& call) override {
    boost::system::error_code ec;
    auto input = boost::json::parse(call.input, ec);
    if (ec || !input.is_object())
      return make_error(billow_errc::invalid_argument, "input");
    sdk::job_call jc;
    jc.method = call.method;
    jc.data = std::move(input.as_object());
    if (auto res = module_->run_job(jc); !res)
      return res.error();
    return std::string{"{}"};
  }

private:
  std::shared_ptr<sdk::module> module_;
};

std::string payload_300() {
  std::string p = R"({"service":"0f8e5a4c-2b1d-4c7e-9a3f-6d5e4c3b2a19",)"
                  R"("plan":"vps-large","period":"monthly","amount":"49.90",)"
                  R"("currency":"EUR","note":")";
  p += std::string(300 - p.size() - 2, 'x');
  p += "\"}";
  return p;
}

struct slice_run {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done_ok{0};
  std::atomic<int> running{0};
  std::promise<void> finished;
};

/// Baseline caller: one ~300-byte event per append, straight to the writer.
void append_loop(caf::event_based_actor* self,
                 const events::writer_actor& writer, const std::string& stream,
                 const std::shared_ptr<slice_run>& run,
                 const std::shared_ptr<std::string>& payload) {
  if (run->stop) {
    if (--run->running == 0)
      run->finished.set_value();
    self->quit();
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

/// Store, actor system, writer, pool, job manager and the module wired to
/// them through its context (tasks().add -> job_task_queue).
struct bench_runtime {
  bench_runtime() {
    events::store_options so;
    so.dir = dir.sub("db");
    so.clock = [this] {
      return clock.now_us();
    };
    auto s = events::event_store::open(so);
    if (!s)
      throw std::runtime_error(to_string(s.error()));
    store = std::move(*s);
    actors::runtime_options ro;
    ro.scheduler_threads = 2;
    cfg = actors::make_actor_system_config(ro);
    sys = std::make_unique<caf::actor_system>(*cfg);
    pool = std::make_unique<actors::worker_pool>(4);
    module = std::make_shared<noop_product>();
    port = std::make_unique<direct_port>(module);
    ctx.store = store.get();
    ctx.writer = events::make_writer(*sys, *store, events::writer_options{});
    ctx.clock = &clock;
    ctx.pool = pool.get();
    ctx.modules = port.get();
    ctx.snapshots = actors::make_snapshot_writer(*sys, *store);
    jobs = actors::make_job_manager(*sys, ctx);
    sdk::context_options co;
    co.manifest.name = "noop";
    co.manifest.type = sdk::module_type::product;
    co.tasks = std::make_shared<modules::job_task_queue>(*sys, jobs);
    module->attach(std::make_shared<sdk::module_context>(std::move(co)));
  }

  ~bench_runtime() {
    {
      caf::scoped_actor self{*sys};
      for (const auto& h :
           {caf::actor_cast<caf::actor>(jobs),
            caf::actor_cast<caf::actor>(ctx.writer), ctx.snapshots}) {
        self->send_exit(h, caf::exit_reason::kill);
        self->wait_for(h);
      }
    }
    module->attach(nullptr);
    ctx.writer = nullptr;
    ctx.snapshots = nullptr;
    jobs = nullptr;
    pool.reset();
    sys.reset();
    store.reset();
  }

  uint64_t live_jobs() {
    caf::scoped_actor self{*sys};
    uint64_t live = 0;
    self->request(jobs, caf::infinite, actors::stats_atom::value)
      .receive(
        [&](const actors::job_stats& s) {
          live = s.live;
        },
        [](caf::error&) {
          std::abort();
        });
    return live;
  }

  test::temp_dir dir{"bench-module"};
  actors::manual_clock clock;
  std::unique_ptr<events::event_store> store;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<actors::worker_pool> pool;
  std::shared_ptr<noop_product> module;
  std::unique_ptr<direct_port> port;
  actors::runtime_context ctx;
  actors::job_manager_actor jobs;
};

void noop_jobs(const std::string& filter) {
  if (!bench::selected("module_noop_job_throughput", filter))
    return;
  bench_runtime rt;
  auto payload = std::make_shared<std::string>(payload_300());
  double base_ops = 0, base_s = 0, jobs_done = 0, jobs_s = 0;
  double caller_cpu_us = 0;
  double add_us_total = 0, drain_s_total = 0, cpu_base = 0, cpu_jobs = 0;
  uint64_t log_events = 0, in_flight_max = 0;
  uint64_t serial = 0;
  std::map<std::string, double> by_group;
  for (int r = 0; r < rounds; ++r) {
    // Baseline slice.
    {
      auto run = std::make_shared<slice_run>();
      run->running = callers;
      auto fin = run->finished.get_future();
      auto c0 = cpu_us();
      auto t0 = steady::now();
      for (int c = 0; c < callers; ++c)
        rt.sys->spawn(append_loop, rt.ctx.writer, "bench-" + std::to_string(c),
                      run, payload);
      std::this_thread::sleep_for(slice);
      run->stop = true;
      fin.wait();
      base_s += std::chrono::duration<double>(steady::now() - t0).count();
      base_ops += static_cast<double>(run->done_ok.load());
      cpu_base += cpu_us() - c0;
    }
    // Module slice: 64 module threads call tasks().add for `slice`, then
    // the clock stops when the last job's job.succeeded is durable.
    {
      auto pos0 = rt.store->last_position();
      std::atomic<bool> stop{false};
      std::atomic<uint64_t> added{0};
      std::atomic<uint64_t> add_ns{0};
      std::atomic<uint64_t> caller_cpu_ns{0};
      std::vector<std::thread> threads;
      threads.reserve(callers);
      auto threads0 = thread_cpu();
      auto c0 = cpu_us();
      auto t0 = steady::now();
      for (int c = 0; c < callers; ++c)
        threads.emplace_back([&, c, base = serial] {
          auto tasks = rt.module->context()->tasks();
          for (uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
            auto a = steady::now();
            auto id = tasks.add("noop_job", {{"c", c}, {"n", base + n}}, {},
                                sdk::job_options{1, std::chrono::seconds(0),
                                                 std::chrono::seconds(60), 1});
            if (!id) {
              std::fprintf(stderr, "add failed: %s\n",
                           to_string(id.error()).c_str());
              std::abort();
            }
            add_ns.fetch_add(
              static_cast<uint64_t>(
                std::chrono::nanoseconds(steady::now() - a).count()),
              std::memory_order_relaxed);
            added.fetch_add(1, std::memory_order_relaxed);
          }
          timespec ts{};
          ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
          caller_cpu_ns.fetch_add(static_cast<uint64_t>(ts.tv_sec)
                                    * 1'000'000'000u
                                  + static_cast<uint64_t>(ts.tv_nsec));
        });
      std::this_thread::sleep_for(slice);
      stop = true;
      for (auto& t : threads)
        t.join();
      serial += 1'000'000;
      auto t_added = steady::now();
      in_flight_max = std::max(in_flight_max, rt.live_jobs());
      while (rt.live_jobs() > 0)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      auto t1 = steady::now();
      cpu_jobs += cpu_us() - c0;
      add_thread_cpu(threads0, thread_cpu(), by_group);
      jobs_s += std::chrono::duration<double>(t1 - t0).count();
      drain_s_total += std::chrono::duration<double>(t1 - t_added).count();
      jobs_done += static_cast<double>(added.load());
      add_us_total += static_cast<double>(add_ns.load()) / 1000.0;
      caller_cpu_us += static_cast<double>(caller_cpu_ns.load()) / 1000.0;
      log_events += rt.store->last_position() - pos0;
    }
  }
  bench::print(
    {"module_noop_job_throughput",
     jobs_done / jobs_s,
     "jobs/s",
     "event_append_sync_c64",
     base_ops / base_s,
     {{"log_events_per_job", static_cast<double>(log_events) / jobs_done},
      {"add_roundtrip_us_mean", add_us_total / jobs_done},
      {"jobs_in_flight_after_adding", static_cast<double>(in_flight_max)},
      {"drain_ms_mean", drain_s_total * 1000.0 / rounds},
      {"cpu_us_per_job", cpu_jobs / jobs_done},
      // Where a job's CPU goes: the 64 module threads adding,
      // CAF's scheduler threads (job manager, job actors, task
      // bridge), the detached writer and its syncer, the worker
      // pool (and main) threads.
      {"cpu_module_threads_us_per_job", caller_cpu_us / jobs_done},
      {"cpu_scheduler_us_per_job", by_group["caf.multiplexer"] / jobs_done},
      {"cpu_writer_us_per_job", by_group["caf.actor"] / jobs_done},
      {"cpu_pool_us_per_job", by_group["bench_module"] / jobs_done},
      {"cpu_us_per_baseline_append", cpu_base / base_ops}}});
}

} // namespace

int main(int argc, char** argv) {
  auto filter = bench::filter_from_args(argc, argv);
  noop_jobs(filter);
  return 0;
}
