#include "actors/runtime.hpp"

#include <array>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <caf/actor_system_config.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "actors/job.hpp"
#include "actors/type_ids.hpp"
#include "actors/uuid_hash.hpp"
#include "events/errc.hpp"

namespace billow::actors {

std::unique_ptr<caf::actor_system_config>
make_actor_system_config(const runtime_options& opts) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  auto threads = opts.scheduler_threads;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  cfg->set("scheduler.max-threads", threads);
  if (opts.deterministic)
    cfg->set("scheduler.policy", caf::atom("testing"));
  // CAF's own logger and console output are not used: spdlog is Billow's log.
  cfg->set("logger.console", caf::atom("none"));
  // An idle worker polls briefly, then blocks on the condition variable that
  // an enqueue signals. CAF's middle phase (500 polls with 50 us sleeps that
  // no enqueue can cut short; with the kernel's timer slack ~100 us each)
  // is skipped: it delayed every reply that reached an idle worker, e.g. a
  // durable append's, by 50-80 us on this 2-core machine (measured: the first
  // appender back after a group commit 78 us -> 21 us).
  cfg->set("work-stealing.moderate-poll-attempts", size_t{0});
  register_error_category(*cfg);
  cfg->add_message_types<caf::id_block::billow_actors>();
  return cfg;
}

namespace {

constexpr std::array<job_status, 5> all_statuses{
  job_status::queued, job_status::running, job_status::retrying,
  job_status::completed, job_status::failed};

prometheus::Counter& counter(prometheus::Registry& reg, const char* name,
                             const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(reg).Add({});
}

} // namespace

struct runtime_metrics::impl {
  prometheus::Gauge* live = nullptr;
  prometheus::Counter* spawned = nullptr;
  prometheus::Counter* passivated = nullptr;
  prometheus::Counter* evicted = nullptr;
  prometheus::Counter* down = nullptr;
  std::array<prometheus::Gauge*, all_statuses.size()> jobs{};
  prometheus::Counter* attempts = nullptr;
  prometheus::Family<prometheus::Counter>* failures = nullptr;
  prometheus::Gauge* busy = nullptr;
  prometheus::Gauge* idle = nullptr;
  prometheus::Counter* replaced = nullptr;
  /// Jobs counted as failed by this process (a retry of a later
  /// incarnation must take them out again).
  std::mutex mtx;
  std::unordered_set<events::uuid, uuid_hash> failed;

  prometheus::Gauge& jobs_in(job_status s) {
    return *jobs[static_cast<size_t>(s)];
  }
};

runtime_metrics::runtime_metrics(prometheus::Registry& reg)
  : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.live = &prometheus::BuildGauge()
              .Name("billow_service_actors_live")
              .Help("Service actors live in the registry")
              .Register(reg)
              .Add({});
  m.spawned = &counter(reg, "billow_service_actors_spawned_total",
                       "Service actors spawned (rehydrated from the log)");
  m.passivated = &counter(reg, "billow_service_actors_passivated_total",
                          "Service actors passivated after their idle time");
  m.evicted = &counter(reg, "billow_service_actors_evicted_total",
                       "Service actors passivated to keep under the cap");
  m.down = &counter(reg, "billow_service_actors_down_total",
                    "Service actors that ended other than by passivation");
  auto& jobs = prometheus::BuildGauge()
                 .Name("billow_jobs")
                 .Help("Jobs by status: unfinished ones, and those that "
                       "completed or failed since the process started")
                 .Register(reg);
  for (auto s : all_statuses)
    m.jobs[static_cast<size_t>(s)] = &jobs.Add({{"status", to_string(s)}});
  m.attempts = &counter(reg, "billow_job_attempts_total",
                        "Job attempts handed to the worker pool");
  m.failures = &prometheus::BuildCounter()
                  .Name("billow_job_attempt_failures_total")
                  .Help("Failed job attempts by kind")
                  .Register(reg);
  for (auto kind : {"error", "exception", "timeout"})
    m.failures->Add({{"kind", kind}});
  auto& workers = prometheus::BuildGauge()
                    .Name("billow_worker_pool_workers")
                    .Help("Worker pool threads by state")
                    .Register(reg);
  m.busy = &workers.Add({{"state", "busy"}});
  m.idle = &workers.Add({{"state", "idle"}});
  m.replaced = &counter(reg, "billow_worker_pool_replaced_total",
                        "Workers detached and replaced after a timeout");
}

runtime_metrics::~runtime_metrics() = default;

void runtime_metrics::services_live(std::size_t n) {
  impl_->live->Set(static_cast<double>(n));
}

void runtime_metrics::service_spawned() {
  impl_->spawned->Increment();
}

void runtime_metrics::service_passivated() {
  impl_->passivated->Increment();
}

void runtime_metrics::service_evicted() {
  impl_->evicted->Increment();
}

void runtime_metrics::service_down() {
  impl_->down->Increment();
}

void runtime_metrics::job_moved(const events::uuid& id,
                                std::optional<job_status> from, job_status to) {
  auto& m = *impl_;
  if (from == to)
    return;
  if (from) {
    m.jobs_in(*from).Decrement();
  } else if (to != job_status::failed) {
    // Not counted by this incarnation; an earlier one may have counted it
    // as failed (a failed job retried after its actor was released).
    std::lock_guard<std::mutex> guard{m.mtx};
    if (m.failed.erase(id) > 0)
      m.jobs_in(job_status::failed).Decrement();
  }
  if (from == job_status::failed) {
    std::lock_guard<std::mutex> guard{m.mtx};
    m.failed.erase(id);
  }
  if (to == job_status::failed) {
    std::lock_guard<std::mutex> guard{m.mtx};
    if (!m.failed.insert(id).second)
      return; // counted already by an earlier incarnation
  }
  m.jobs_in(to).Increment();
}

void runtime_metrics::job_attempt() {
  impl_->attempts->Increment();
}

void runtime_metrics::job_attempt_failed(std::string_view kind) {
  impl_->failures->Add({{"kind", std::string{kind}}}).Increment();
}

void runtime_metrics::pool_workers(std::size_t busy, std::size_t idle) {
  impl_->busy->Set(static_cast<double>(busy));
  impl_->idle->Set(static_cast<double>(idle));
}

void runtime_metrics::worker_replaced() {
  impl_->replaced->Increment();
}

} // namespace billow::actors
