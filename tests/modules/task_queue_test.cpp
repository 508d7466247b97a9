// tasks().add on the real job runtime: module code queues a job through the
// job_task_queue bridge, the job runs the module's job method, and once the
// job manager is gone an add answers `unavailable` instead of hanging.

#include <atomic>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>

#include "actors/clock.hpp"
#include "actors/context.hpp"
#include "actors/job.hpp"
#include "actors/module_port.hpp"
#include "actors/runtime.hpp"
#include "actors/worker_pool.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/writer.hpp"
#include "modules/host/module_jobs.hpp"
#include "modules/sdk/module_context.hpp"
#include "modules/sdk/plugin.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using namespace std::chrono_literals;
namespace sdk = billow::modules::sdk;

namespace {

/// Counts the runs of its one job method and keeps the last input.
class counting_plugin : public sdk::plugin {
public:
  counting_plugin() {
    register_job("count_job", [this](sdk::job_call& call) {
      last_n = call.data.at("n").to_number<int64_t>();
      ++runs;
      return caf::expected<void>{caf::unit};
    });
  }

  std::atomic<int> runs{0};
  std::atomic<int64_t> last_n{0};
};

/// Runs jobs of the one module (catalog_module_port's path for jobs
/// without a service).
class one_module_port : public actors::module_port {
public:
  explicit one_module_port(std::shared_ptr<sdk::module> m)
    : module_(std::move(m)) {
    // nop
  }

  caf::expected<std::string> run_job(const actors::job_call& call) override {
    sdk::job_call jc;
    jc.method = call.method;
    jc.data = boost::json::parse(call.input).as_object();
    if (auto res = module_->run_job(jc); !res)
      return res.error();
    return std::string{"{}"};
  }

private:
  std::shared_ptr<sdk::module> module_;
};

} // namespace

TEST(task_queue_test, module_code_queues_jobs_that_run_and_fails_fast_after) {
  test::temp_dir dir{"tasks"};
  actors::manual_clock clock;
  events::store_options so;
  so.dir = dir.sub("db");
  auto store = std::move(*events::event_store::open(so));
  actors::runtime_options ro;
  ro.scheduler_threads = 2;
  auto cfg = actors::make_actor_system_config(ro);
  auto sys = std::make_unique<caf::actor_system>(*cfg);
  auto pool = std::make_unique<actors::worker_pool>(2);
  auto mod = std::make_shared<counting_plugin>();
  one_module_port port{mod};
  actors::runtime_context ctx;
  ctx.store = store.get();
  ctx.writer = events::make_writer(*sys, *store);
  ctx.clock = &clock;
  ctx.pool = pool.get();
  ctx.modules = &port;
  auto jobs = actors::make_job_manager(*sys, ctx);
  sdk::context_options co;
  co.manifest.name = "counter";
  co.manifest.type = sdk::module_type::plugin;
  co.tasks = std::make_shared<modules::job_task_queue>(*sys, jobs);
  mod->attach(std::make_shared<sdk::module_context>(std::move(co)));

  auto id = mod->tasks().add("count_job", {{"n", 7}}, {"t"});
  ASSERT_TRUE(id) << to_string(id.error());
  auto job_id = events::uuid::parse(*id);
  ASSERT_TRUE(job_id);
  {
    caf::scoped_actor self{*sys};
    self->request(jobs, 10s, actors::job_await_atom::value, *job_id)
      .receive(
        [&](const actors::job_view& v) {
          EXPECT_EQ(v.status, actors::job_status::completed);
          EXPECT_EQ(v.module, "Plugin/counter");
          EXPECT_EQ(v.tags, std::vector<std::string>{"t"});
        },
        [&](caf::error& err) {
          ADD_FAILURE() << to_string(err);
        });
    EXPECT_EQ(mod->runs.load(), 1);
    EXPECT_EQ(mod->last_n.load(), 7);
    // An unknown method is refused by the module, not by the queue: the
    // job is queued and fails.
    auto bad = mod->tasks().add("no_such_job", {{"n", 1}});
    ASSERT_TRUE(bad);
    // The job manager goes (shutdown): adds fail at once.
    self->send_exit(jobs, caf::exit_reason::user_shutdown);
    self->wait_for(jobs);
  }
  auto late = mod->tasks().add("count_job", {{"n", 8}});
  ASSERT_FALSE(late);
  EXPECT_EQ(errc_of(late.error()), billow_errc::unavailable);
  {
    caf::scoped_actor self{*sys};
    self->send_exit(ctx.writer, caf::exit_reason::user_shutdown);
    self->wait_for(ctx.writer);
  }
  mod->attach(nullptr);
  ctx.writer = nullptr;
  jobs = nullptr;
  pool.reset();
  sys.reset();
}
