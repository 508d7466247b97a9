// The child of the actors crash test. Runs jobs through the real runtime
// (system clock, sync writer) until it is killed or, in `resume` mode with
// `--finish`, until every job ended.
//
// Usage: actors_crash_child <data dir> <call log> <jobs> seed|resume|finish
//
// Job i has the id derive_uuid("crash", "job", i) and the plan
// `plans[i % size]`: one letter per attempt (the last repeats): O ok,
// E returned error, X exception, S slow ok (150 ms), H hang (5 s, beyond the
// 2 s timeout). The module appends `call <job id> <attempt>` to the call log
// before it works, so the parent sees every attempt the module started.

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/aggregate.hpp"
#include "actors/clock.hpp"
#include "actors/job.hpp"
#include "actors/module_port.hpp"
#include "actors/runtime.hpp"
#include "actors/worker_pool.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"
#include "tests/actors/crash_plans.hpp"

using namespace billow;
using namespace billow::actors;

namespace {

class plan_module : public module_port {
public:
  explicit plan_module(int fd) : fd_(fd) {}

  caf::expected<std::string> run_job(const job_call& call) override {
    auto line = "call " + to_string(call.job_id) + " "
      + std::to_string(call.attempt) + "\n";
    if (::write(fd_, line.data(), line.size()) < 0)
      std::_Exit(5);
    auto obj = parse_object(call.input);
    auto plan = json_string(obj, "plan");
    auto c = plan.empty()
      ? 'O'
      : plan[std::min<size_t>(call.attempt - 1, plan.size() - 1)];
    switch (c) {
      case 'E': return make_error(billow_errc::module_failure, "planned error");
      case 'X': throw std::runtime_error("planned exception");
      case 'S':
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        break;
      case 'H': std::this_thread::sleep_for(std::chrono::seconds(5)); break;
      default: break;
    }
    return std::string{"{\"ok\":true}"};
  }

private:
  int fd_;
};

} // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s <dir> <log> <jobs> seed|resume|finish\n",
                 argv[0]);
    return 2;
  }
  std::string mode = argv[4];
  auto jobs_n = std::atoi(argv[3]);
  int fd = ::open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0)
    return 3;
  system_clock clk;
  events::store_options opts;
  opts.dir = argv[1];
  opts.clock = [&clk] {
    return clk.now_us();
  };
  auto store = events::event_store::open(opts);
  if (!store) {
    std::fprintf(stderr, "open failed: %s\n", to_string(store.error()).c_str());
    return 1;
  }
  runtime_options ro;
  ro.scheduler_threads = 2;
  auto cfg = make_actor_system_config(ro);
  caf::actor_system sys{*cfg};
  worker_pool pool{4};
  plan_module module{fd};
  runtime_context ctx;
  ctx.store = store->get();
  ctx.writer = events::make_writer(sys, **store);
  ctx.clock = &clk;
  ctx.pool = &pool;
  ctx.modules = &module;
  ctx.snapshots = make_snapshot_writer(sys, **store);
  auto jobs = make_job_manager(sys, ctx);
  {
    caf::scoped_actor self{sys};
    if (mode == "seed") {
      for (int i = 0; i < jobs_n; ++i) {
        auto spec = billow::test::crash_spec(i);
        self->request(jobs, caf::infinite, job_add_atom::value, spec)
          .receive([](const job_view&) {},
                   [](caf::error& err) {
                     std::fprintf(stderr, "add failed: %s\n",
                                  to_string(err).c_str());
                     std::_Exit(4);
                   });
      }
      std::printf("seeded\n");
      std::fflush(stdout);
    } else {
      self->request(jobs, caf::infinite, recover_atom::value)
        .receive(
          [](uint64_t n) {
            std::printf("resumed %llu\n", static_cast<unsigned long long>(n));
          },
          [](caf::error& err) {
            std::fprintf(stderr, "recover failed: %s\n",
                         to_string(err).c_str());
            std::_Exit(4);
          });
      std::fflush(stdout);
    }
    if (mode == "finish" || mode == "seed_finish") {
      for (int i = 0; i < jobs_n; ++i)
        self
          ->request(jobs, caf::infinite, job_await_atom::value,
                    billow::test::crash_job_id(i))
          .receive([](const job_view&) {}, [](caf::error&) {});
      std::printf("finished\n");
      std::fflush(stdout);
      std::_Exit(0);
    }
  }
  // Keep running until killed.
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds(1));
}
