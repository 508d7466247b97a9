#include "api/application.hpp"

#include <unistd.h>

#include <thread>

#include <boost/json/parse.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>
#include <prometheus/registry.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "actors/clock.hpp"
#include "actors/entity.hpp"
#include "actors/entity_state.hpp"
#include "actors/job.hpp"
#include "actors/orders/order_desk.hpp"
#include "actors/service.hpp"
#include "actors/worker_pool.hpp"
#include "api/account_routes.hpp"
#include "api/answers.hpp"
#include "api/ask.hpp"
#include "api/audit_routes.hpp"
#include "api/auth.hpp"
#include "api/billing_plan.hpp"
#include "api/billing_run_routes.hpp"
#include "api/billing_settings_routes.hpp"
#include "api/client_admin_routes.hpp"
#include "api/client_billing_routes.hpp"
#include "api/client_routes.hpp"
#include "api/clock_routes.hpp"
#include "api/front.hpp"
#include "api/idempotency.hpp"
#include "api/invoice_routes.hpp"
#include "api/io_execution_unit.hpp"
#include "api/job_routes.hpp"
#include "api/live_events.hpp"
#include "api/metrics.hpp"
#include "api/module_routes.hpp"
#include "api/operations.hpp"
#include "api/password_pool.hpp"
#include "api/product_routes.hpp"
#include "api/read_waits.hpp"
#include "api/service_routes.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/fan_out.hpp"
#include "events/writer.hpp"
#include "modules/host/module_catalog.hpp"
#include "modules/host/module_host.hpp"
#include "modules/host/module_jobs.hpp"
#include "modules/host/module_log.hpp"
#include "projections/admin_directory.hpp"
#include "projections/client_directory.hpp"
#include "projections/jobs.hpp"
#include "projections/provisioning.hpp"
#include <prometheus/gauge.h>

namespace billow::api {

namespace {

/// A product's data as its stream says (the product aggregate's own fold,
/// from its snapshot on), for module code when the projection is late; none
/// for an unknown product.
std::optional<boost::json::object>
product_data_in_log(const events::event_store& store, const std::string& id) {
  actors::aggregate<actors::product_state> product;
  product.stream = "product-" + id;
  if (product.load(store) || !product.state.created)
    return std::nullopt;
  return product.state.product_data;
}

} // namespace

struct application::impl {
  application_options opts;
  std::shared_ptr<prometheus::Registry> registry
    = std::make_shared<prometheus::Registry>();
  std::unique_ptr<events::event_store> store;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  events::writer_actor writer;
  /// Credentials and personal data keys, beside the log.
  vault::stores vault;
  std::shared_ptr<projections::admin_directory> admins
    = std::make_shared<projections::admin_directory>();
  events::subscriber_actor admins_follower;
  std::shared_ptr<projections::client_directory> clients
    = std::make_shared<projections::client_directory>();
  events::subscriber_actor clients_follower;
  /// The read models of the admin lists. They and the directories follow
  /// the log through one subscription and a fan-out (see `start`).
  std::shared_ptr<projections::provisioning> provisioning
    = std::make_shared<projections::provisioning>();
  std::shared_ptr<projections::jobs_projection> job_list
    = std::make_shared<projections::jobs_projection>();
  std::shared_ptr<projections::billing_projection> billing_list
    = std::make_shared<projections::billing_projection>();
  std::vector<events::subscriber_actor> followers;
  /// `billow_projection_lag_events{projection}`, set on each scrape.
  std::vector<
    std::pair<std::shared_ptr<projections::projection>, prometheus::Gauge*>>
    lag_gauges;
  /// `billow_storage_state{state}`: 1 for the store's state, 0 for the
  /// others; set on each scrape.
  std::vector<std::pair<events::storage_state, prometheus::Gauge*>>
    storage_gauges;
  /// `billow_follower_stopped{follower}`, set on each scrape.
  std::vector<std::pair<std::string, prometheus::Gauge*>> stopped_gauges;
  /// False once the subscription that feeds every follower ended (it is
  /// linked to the writer and ends only with it or on a failed read).
  std::shared_ptr<std::atomic<bool>> following
    = std::make_shared<std::atomic<bool>>(true);
  /// Set as `stop` begins: what ends from then on ends on purpose.
  std::shared_ptr<std::atomic<bool>> stopping
    = std::make_shared<std::atomic<bool>>(false);
  /// Slow or blocking work of request handlers (store reads, chain
  /// verification), kept off CAF's scheduler threads.
  std::unique_ptr<boost::asio::thread_pool> blocking;
  /// Argon2id work, on threads of its own with a bounded queue.
  std::shared_ptr<password_pool> passwords;
  /// Requests waiting for a read model to reach a position (no thread each).
  std::shared_ptr<read_waits> waits;
  std::shared_ptr<modules::module_catalog> catalog;
  // The actor runtime (issue 4): the clock every timer uses, the pool for
  // blocking module code, jobs and services.
  std::unique_ptr<actors::clock> clock;
  std::unique_ptr<actors::runtime_metrics> runtime_metrics;
  std::unique_ptr<actors::worker_pool> pool;
  std::unique_ptr<modules::catalog_module_port> module_port;
  /// Module log events and the module host actors (hooks).
  std::shared_ptr<modules::event_log_sink> module_logs;
  std::shared_ptr<modules::module_hosts> module_hosts;
  actors::runtime_context runtime;
  actors::job_manager_actor jobs;
  actors::service_registry_actor services;
  /// The client and product aggregates.
  actors::client_registry_actor client_registry;
  actors::product_registry_actor product_registry;
  /// The billing settings and tax rules, and the billing aggregates.
  std::shared_ptr<billing::billing_config> billing_config;
  billing::billing_registry_actor billing;
  billing::billing_scheduler_actor billing_scheduler;
  /// Orders of services, over the registries above.
  orders::order_desk_actor order_desk;
  caf::actor front;
  /// Runs the front actor on the server's I/O threads.
  std::shared_ptr<io_execution_unit> front_unit;
  std::unique_ptr<http_server> server;

  /// Waits, at most `wait`, until `prov` has applied the log up to `as_of`
  /// (a job's start: every earlier job's result), or as it is now when
  /// `as_of` is 0; false when the wait timed out.
  static bool applied_up_to(const projections::provisioning& prov,
                            const events::event_store& store, uint64_t as_of,
                            std::chrono::milliseconds wait) {
    return prov.wait_for(as_of > 0 ? as_of : store.last_position(), wait);
  }

  /// A service's data for module code (jobs, client-area tabs; worker pool
  /// threads): from the provisioning projection once `applied_up_to`, so no
  /// stream is scanned; the scan only when that wait times out.
  modules::service_data_lookup service_data_lookup() {
    return service_data_lookup(opts.read_wait);
  }

  /// `service_data_lookup` waiting at most `wait` (0: not at all).
  modules::service_data_lookup
  service_data_lookup(std::chrono::milliseconds wait) {
    return [prov = provisioning, store = store.get(),
            wait](const events::uuid& id, uint64_t as_of) {
      if (!applied_up_to(*prov, *store, as_of, wait))
        return modules::latest_service_data(*store, id);
      boost::json::object data;
      if (auto text = prov->service_data(events::to_string(id))) {
        boost::system::error_code ec;
        auto doc = boost::json::parse(*text, ec);
        if (!ec && doc.is_object())
          data = std::move(doc.as_object());
      }
      return data;
    };
  }

  /// A product's data for module code, the same way: from the provisioning
  /// projection once `applied_up_to`, folded from the product's stream only
  /// when that wait times out.
  modules::product_lookup product_data_lookup() {
    return [prov = provisioning, store = store.get(),
            wait = opts.read_wait](const std::string& id, uint64_t as_of) {
      if (!applied_up_to(*prov, *store, as_of, wait))
        return product_data_in_log(*store, id);
      return prov->product_data(id);
    };
  }

  /// Appends through the writer from a thread outside CAF's scheduler
  /// (start-up, the blocking pool): the writer stays the log's one writer.
  modules::append_fn writer_append() {
    return [this](const std::string& stream, events::expected_version expected,
                  std::vector<events::new_event> evs)
             -> caf::expected<events::append_result> {
      return ask_and_wait<events::append_result>(*sys, writer, caf::infinite,
                                                 events::append_atom::value,
                                                 stream, expected,
                                                 std::move(evs));
    };
  }

  std::vector<std::shared_ptr<projections::projection>> projections() const {
    return {provisioning, job_list, billing_list};
  }

  /// Events a projection is behind the log (0 when none).
  uint64_t lag(const projections::projection& p) const {
    auto head = store ? store->last_position() : 0;
    return head > p.position() ? head - p.position() : 0;
  }

  /// Why `follower` (a directory or a projection) does not keep its read
  /// model current and stored; nullopt when it does.
  std::optional<std::string> follower_stopped(const std::string& follower) {
    if (!following->load())
      return "the log subscription ended (see the server log); a restart "
             "resumes from the checkpoints";
    for (auto& p : projections())
      if (p->name() == follower && !p->storing())
        return "cannot store its read model (storage fault); reads stay "
               "current, storing is tried again every second";
    return std::nullopt;
  }

  /// The followers `follower_stopped` knows.
  std::vector<std::string> follower_names() const {
    std::vector<std::string> names{"admins", "clients"};
    for (auto& p : projections())
      names.push_back(p->name());
    return names;
  }

  /// Why the log takes no writes; nullopt when it does.
  std::optional<std::string> storage_problem() const {
    switch (store->storage()) {
      case events::storage_state::ok: return std::nullopt;
      case events::storage_state::full:
        return "the data volume is full: writes are refused (507) until "
               "space is freed, then resume by themselves";
      case events::storage_state::failed:
        return "a storage error stopped writes (503); the server log says "
               "which, and whether they resume by themselves or after a "
               "restart";
    }
    return std::nullopt;
  }

  std::vector<readiness_check> readiness() {
    std::vector<readiness_check> checks{
      {"http",
       [this]() -> std::optional<std::string> {
         if (server && server->draining())
           return "shutting down";
         return std::nullopt;
       }},
      {"event_log",
       [this]() -> std::optional<std::string> {
         if (!store || !writer)
           return "the event log is not open";
         if (::access(opts.data_dir.c_str(), W_OK) != 0)
           return "data directory " + opts.data_dir.string()
             + " is not writable";
         return storage_problem();
       }},
    };
    for (const auto* dir : {"admins", "clients"})
      checks.push_back(
        {std::string{"directory_"} + dir, [this, name = std::string{dir}] {
           return follower_stopped(name);
         }});
    for (auto& p : projections())
      checks.push_back(
        {"projection_" + p->name(), [this, p]() -> std::optional<std::string> {
           if (auto why = follower_stopped(p->name()))
             return why;
           auto behind = lag(*p);
           if (behind > opts.max_projection_lag)
             return fmt::format("{} events behind the log (at most {})", behind,
                                opts.max_projection_lag);
           return std::nullopt;
         }});
    return checks;
  }

  /// Stops what `start` started, in reverse order; safe on a partial start.
  void stop() {
    stopping->store(true);
    if (server) {
      server->wait();
      if (front_unit) // the front actor's turns move to CAF's scheduler
        front_unit->loop_ended();
      if (waits) // closed at the drain already, unless it never began
        waits->close();
      server.reset();
    }
    if (front) {
      caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
      front = nullptr;
    }
    if (blocking) {
      blocking->join(); // finishes queued handler work; its replies are moot
      blocking.reset();
    }
    if (passwords)
      passwords->stop(); // the same for queued logins
    waits.reset();       // its timer thread; answers not given yet are dropped
    for (auto* f : {&admins_follower, &clients_follower})
      if (*f) {
        caf::anon_send_exit(*f, caf::exit_reason::user_shutdown);
        *f = nullptr;
      }
    for (auto& f : followers)
      caf::anon_send_exit(f, caf::exit_reason::user_shutdown);
    followers.clear();
    for (const auto& h : {caf::actor_cast<caf::actor>(order_desk),
                          caf::actor_cast<caf::actor>(billing_scheduler),
                          caf::actor_cast<caf::actor>(billing),
                          caf::actor_cast<caf::actor>(services),
                          caf::actor_cast<caf::actor>(client_registry),
                          caf::actor_cast<caf::actor>(product_registry),
                          caf::actor_cast<caf::actor>(jobs), runtime.snapshots})
      if (h)
        caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    billing_scheduler = nullptr;
    order_desk = nullptr;
    billing = nullptr;
    services = nullptr;
    client_registry = nullptr;
    product_registry = nullptr;
    jobs = nullptr;
    runtime.snapshots = nullptr;
    if (module_hosts)
      module_hosts->stop_all();
    if (module_logs)
      module_logs->stop();
    if (pool) {
      // Waits for module calls still running, within a bound: a hung one is
      // detached (and logged) and its outcome dropped.
      pool->shutdown(opts.runtime.worker_grace);
      pool.reset();
    }
    if (writer) {
      caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
      writer = nullptr;
      runtime.writer = nullptr;
    }
    if (sys) {
      sys.reset(); // waits for every actor to finish
      spdlog::info("stopped");
    }
    module_port.reset();
    catalog.reset(); // unloads the modules; reads the store
    store.reset();   // after the writer: it appends to the store
    clock.reset();
  }
};

application::application(application_options opts)
  : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
}

application::~application() {
  shutdown();
  wait();
}

caf::error application::start() {
  auto& d = *impl_;
  std::error_code ec;
  std::filesystem::create_directories(d.opts.data_dir, ec);
  if (ec)
    return make_error(billow_errc::storage_error,
                      "cannot create data directory " + d.opts.data_dir.string()
                        + ": " + ec.message());
  d.clock = actors::make_clock(d.opts.clock);
  events::store_options store_opts;
  store_opts.dir = log_dir(d.opts.data_dir).string();
  store_opts.clock = [c = d.clock.get()] {
    return c->now_us();
  };
  store_opts.extra_column_families.push_back(idempotency_family);
  store_opts.compaction_filters[idempotency_family]
    = {make_expired_answers_filter([c = d.clock.get()] {
         return c->now_us();
       }),
       idempotency_retention};
  for (auto& p : d.projections())
    store_opts.extra_column_families.push_back(p->column_family());
  for (auto& name : vault::vault_column_families())
    store_opts.extra_column_families.push_back(std::move(name));
  auto store = events::event_store::open(std::move(store_opts));
  if (!store)
    return std::move(store.error());
  d.store = std::move(*store);
  // The vault before any reader: it moves old events' credentials out and
  // registers the upcasters every read then goes through.
  auto vault = vault::open_vault(*d.store, keys_dir(d.opts.data_dir));
  if (!vault)
    return std::move(vault.error());
  d.vault = std::move(*vault);
  d.admins->set_credentials(d.vault.credentials);
  d.clients->set_vault(d.vault.credentials, d.vault.personal);
  // The scheduler gets a thread per core by default (CAF's own default; see
  // actors::make_actor_system_config). The front actor runs on the HTTP I/O
  // threads, so requests take none of the scheduler's time; and the threads
  // the scheduler wakes (module workers, the writer, CAF's clock) preempt the
  // thread that woke them, which with one scheduler thread stalled every
  // actor. On 2 cores: api_suspend_unsuspend_rps's p99 48-51 ms with 1
  // thread, 24-27 ms with 2, at the same throughput; GETs do not change.
  d.cfg = actors::make_actor_system_config(d.opts.runtime);
  d.sys = std::make_unique<caf::actor_system>(*d.cfg);
  events::writer_options writer_opts;
  writer_opts.metrics = d.registry;
  d.writer = events::make_writer(*d.sys, *d.store, writer_opts);
  // The directories and read models each catch up from the store, then
  // follow the log through one subscription: a fan-out hands each page to
  // all four, so the log is read and decoded once, not once each.
  auto admins = projections::admin_directory_follower(*d.sys, *d.store,
                                                      d.admins);
  if (!admins)
    return std::move(admins.error());
  d.admins_follower = std::move(*admins);
  auto clients = projections::client_directory_follower(*d.sys, *d.store,
                                                        d.clients);
  if (!clients)
    return std::move(clients.error());
  d.clients_follower = std::move(*clients);
  auto from = std::min(d.admins->position(), d.clients->position()) + 1;
  for (auto& p : d.projections()) {
    if (auto err = p->load(*d.store))
      return err;
    auto loaded = p->position();
    auto f = projections::make_follower(*d.sys, *d.store, p);
    if (!f)
      return std::move(f.error());
    d.followers.push_back(std::move(*f));
    from = std::min(from, p->position() + 1);
    spdlog::info("projection {}: caught up from {} to {}", p->name(), loaded,
                 p->position());
  }
  std::vector<events::subscriber_actor> consumers{d.admins_follower,
                                                  d.clients_follower};
  consumers.insert(consumers.end(), d.followers.begin(), d.followers.end());
  events::subscription_options follow_opts;
  follow_opts.from_position = from;
  auto subscription = events::subscribe(
    *d.sys, *d.store, d.writer, events::fan_out(*d.sys, std::move(consumers)),
    follow_opts);
  caf::actor_cast<caf::abstract_actor*>(subscription)
    ->attach_functor([following = d.following,
                      stopping = d.stopping](const caf::error& reason) {
      following->store(false);
      // At shutdown the writer goes first and takes the subscription with
      // it (`unreachable`): no fault to report.
      if (reason && reason != caf::exit_reason::user_shutdown
          && !stopping->load())
        spdlog::error("followers: the log subscription ended, every "
                      "directory and projection stopped following: {}",
                      caf::to_string(reason));
    });
  auto key = load_or_create_key(keys_dir(d.opts.data_dir) / "token.key");
  if (!key)
    return std::move(key.error());
  d.blocking = std::make_unique<boost::asio::thread_pool>(
    std::max<std::size_t>(1, d.opts.blocking_threads));
  auto auth = std::make_shared<auth_context>();
  auth->signer = std::make_shared<token_signer>(std::move(*key));
  auth->admins = d.admins;
  auth->clients = d.clients;
  auth->run_blocking = [pool = d.blocking.get()](std::function<void()> fn) {
    boost::asio::post(*pool, std::move(fn));
  };
  d.passwords = std::make_shared<password_pool>(
    d.opts.password_threads, d.opts.password_queue,
    d.opts.password_queue_per_address);
  auth->passwords = d.passwords;
  // Answers of waits run on the I/O threads, as they do when no wait was
  // needed; the server exists (and requests arrive) only further down.
  d.waits = std::make_shared<read_waits>(
    [&server = d.server](std::function<void()> fn) {
      server->post(std::move(fn));
    });
  auth->waits = d.waits;
  auth->log_head = [store = d.store.get()] {
    return store->last_position();
  };
  auto fingerprint_key
    = load_or_create_key(keys_dir(d.opts.data_dir) / "idempotency.key");
  if (!fingerprint_key)
    return std::move(fingerprint_key.error());
  auth->idempotency = std::make_shared<idempotency_store>(
    d.store->db(), d.store->column_family(idempotency_family),
    [c = d.clock.get()] {
      return c->now_us();
    },
    std::move(*fingerprint_key));
  auth->idempotency->write_through(
    [store = d.store.get()](rocksdb::WriteBatch& batch) {
      return store->write(batch, events::durability::async);
    });
  d.catalog = std::make_shared<modules::module_catalog>(
    *d.store, d.writer_append(), d.opts.modules_dir);
  // The runtime: jobs run module code on the pool through the catalog.
  d.runtime_metrics = std::make_unique<actors::runtime_metrics>(*d.registry);
  d.pool = std::make_unique<actors::worker_pool>(
    std::max<std::size_t>(1, d.opts.worker_threads), d.runtime_metrics.get());
  d.module_port = std::make_unique<modules::catalog_module_port>(
    *d.catalog, *d.store, d.product_data_lookup(), d.service_data_lookup());
  d.runtime.store = d.store.get();
  d.runtime.writer = d.writer;
  d.runtime.clock = d.clock.get();
  d.runtime.pool = d.pool.get();
  d.runtime.modules = d.module_port.get();
  d.runtime.snapshots = actors::make_snapshot_writer(*d.sys, *d.store);
  d.runtime.metrics = d.runtime_metrics.get();
  d.jobs = actors::make_job_manager(*d.sys, d.runtime);
  d.services = actors::make_service_registry(*d.sys, d.runtime, d.jobs);
  d.client_registry = actors::make_client_registry(*d.sys, d.runtime);
  d.product_registry = actors::make_product_registry(*d.sys, d.runtime);
  d.billing_config = std::make_shared<billing::billing_config>(*d.store);
  {
    billing::billing_options bo;
    bo.terms = [config = d.billing_config] {
      return config->terms();
    };
    // An order's invoice is paid: its service is created (the module's
    // create job; at once without a module). The key makes a repeat a no-op.
    bo.on_order_paid = [services = d.services](const std::string& service,
                                               const std::string& invoice) {
      auto id = events::uuid::parse(service);
      if (!id)
        return;
      actors::service_command cmd;
      cmd.op = actors::service_op::create;
      cmd.actor = "system";
      cmd.reason = "order invoice " + invoice + " paid";
      cmd.idempotency_key = "order-paid:" + invoice;
      caf::anon_send(services, actors::svc_cmd_atom::value, *id,
                     std::move(cmd));
    };
    d.billing = billing::make_billing_registry(*d.sys, d.runtime,
                                               std::move(bo));
  }
  {
    // The billing run plans from the read models once they reached the
    // log's head (what earlier runs wrote included).
    billing::scheduler_options so;
    so.registry = d.billing;
    so.plan = [src = billing_plan_sources{d.billing_list, d.provisioning,
                                          d.billing_config},
               store = d.store.get(), wait = d.opts.read_wait](int64_t now) {
      auto head = store->last_position();
      src.billing->wait_for(head, wait);
      src.provisioning->wait_for(head, wait);
      return plan_billing(src, billing::date_of(now));
    };
    d.billing_scheduler = billing::make_billing_scheduler(*d.sys, *d.clock,
                                                          std::move(so));
  }
  d.order_desk = orders::make_order_desk(
    *d.sys, {d.services, d.client_registry, d.product_registry, d.billing});
  auto seal_key = load_or_create_key(keys_dir(d.opts.data_dir) / "seal.key");
  if (!seal_key)
    return std::move(seal_key.error());
  std::array<uint8_t, modules::sdk::secret_box::key_size> seal_bytes{};
  std::copy(seal_key->begin(), seal_key->end(), seal_bytes.begin());
  d.module_logs = std::make_shared<modules::event_log_sink>(*d.sys, d.writer);
  d.module_hosts = std::make_shared<modules::module_hosts>(
    *d.sys,
    modules::host_context{
      d.store.get(), d.writer, d.clock.get(), d.pool.get(), {}});
  d.catalog->set_listener(d.module_hosts);
  d.catalog->set_host_services(
    {std::make_shared<modules::job_task_queue>(*d.sys, d.jobs),
     modules::sdk::secret_box{seal_bytes}, d.module_logs});
  if (!d.opts.modules_dir.empty()) {
    auto found = d.catalog->scan("system");
    if (!found)
      return std::move(found.error());
    spdlog::info("modules: {} found in {}", found->size(),
                 d.opts.modules_dir.string());
  }
  // Unfinished jobs and services resume where the log says they stopped.
  {
    uint64_t resumed_jobs = 0, woken_services = 0;
    auto jobs = ask_and_wait<uint64_t>(*d.sys, d.jobs, std::chrono::minutes(5),
                                       actors::recover_atom::value);
    if (jobs)
      resumed_jobs = *jobs;
    else
      spdlog::error("job recovery failed: {}", caf::to_string(jobs.error()));
    auto services = ask_and_wait<uint64_t>(
      *d.sys, d.services, std::chrono::minutes(5), actors::recover_atom::value);
    if (services)
      woken_services = *services;
    else
      spdlog::error("service recovery failed: {}",
                    caf::to_string(services.error()));
    if (resumed_jobs + woken_services > 0)
      spdlog::info("resumed {} jobs and {} services", resumed_jobs,
                   woken_services);
  }
  auto routes = std::make_shared<route_table>();
  auto answers = std::make_shared<answer_filter>(d.vault.personal);
  routes->set_answer_filter(answers);
  // The document describes the finished table, so it is made last.
  auto openapi = std::make_shared<std::string>();
  routes->add("GET", "/api/v1/openapi.json",
              [openapi](const request_context& ctx) {
                ctx.reply(json_response(200, *openapi));
              },
              {"This OpenAPI 3 document"});
  auto& lag_family = prometheus::BuildGauge()
                       .Name("billow_projection_lag_events")
                       .Help("Events a projection is behind the log")
                       .Register(*d.registry);
  for (auto& p : d.projections())
    d.lag_gauges.emplace_back(p, &lag_family.Add({{"projection", p->name()}}));
  auto& read_waits_gauge
    = prometheus::BuildGauge()
        .Name("billow_read_waits")
        .Help("Requests waiting for a read model to reach a log position")
        .Register(*d.registry)
        .Add({});
  auto& password_gauge = prometheus::BuildGauge()
                           .Name("billow_password_checks")
                           .Help("Password checks (Argon2id) queued or running")
                           .Register(*d.registry)
                           .Add({});
  auto& storage_family = prometheus::BuildGauge()
                           .Name("billow_storage_state")
                           .Help("1 for the event log's storage state (ok: "
                                 "takes writes, full: the volume is full, "
                                 "failed: another error stopped writes)")
                           .Register(*d.registry);
  for (auto x : {events::storage_state::ok, events::storage_state::full,
                 events::storage_state::failed})
    d.storage_gauges.emplace_back(
      x, &storage_family.Add({{"state", std::string{events::to_string(x)}}}));
  auto& stopped_family = prometheus::BuildGauge()
                           .Name("billow_follower_stopped")
                           .Help("1 while a follower of the log (directory "
                                 "or projection) does not keep its read "
                                 "model current and stored")
                           .Register(*d.registry);
  for (auto& name : d.follower_names())
    d.stopped_gauges.emplace_back(name,
                                  &stopped_family.Add({{"follower", name}}));
  add_operations_routes(
    *routes, d.registry, d.readiness(),
    [&d, &read_waits_gauge, &password_gauge] {
      for (auto& [p, gauge] : d.lag_gauges)
        gauge->Set(static_cast<double>(d.lag(*p)));
      if (auto waits = d.waits)
        read_waits_gauge.Set(static_cast<double>(waits->waiting()));
      if (auto passwords = d.passwords)
        password_gauge.Set(static_cast<double>(passwords->load()));
      auto state = d.store->storage();
      for (auto& [x, gauge] : d.storage_gauges)
        gauge->Set(x == state ? 1 : 0);
      for (auto& [name, gauge] : d.stopped_gauges)
        gauge->Set(d.follower_stopped(name) ? 1 : 0);
    });
  add_auth_routes(*routes, auth);
  add_audit_routes(*routes, auth, *d.store);
  add_live_events_route(*routes, auth, *d.store, d.writer, answers);
  add_module_routes(*routes, auth, d.catalog);
  // The admin families, in the order the table has always had them (the
  // OpenAPI document lists paths in that order).
  admin_backend admin{
    d.store.get(),       d.writer,          d.jobs,
    d.services,          d.catalog,         d.clock.get(),
    d.provisioning,      d.job_list,        d.billing_list,
    d.billing,           d.opts.read_wait,  d.vault,
    d.billing_scheduler, d.client_registry, d.product_registry,
    d.order_desk};
  add_client_admin_routes(*routes, auth, admin);
  add_product_routes(*routes, auth, admin);
  add_service_routes(*routes, auth, admin);
  add_job_routes(*routes, auth, admin);
  add_clock_routes(*routes, auth, admin);
  billing_backend billing{d.store.get(),  d.writer,
                          d.billing,      d.billing_config,
                          d.billing_list, d.opts.read_wait,
                          d.vault,        d.billing_scheduler,
                          d.provisioning, d.clock.get()};
  add_billing_settings_routes(*routes, auth, billing);
  add_billing_run_routes(*routes, auth, billing);
  add_invoice_routes(*routes, auth, billing);
  add_account_routes(*routes, auth, billing);
  add_client_billing_routes(*routes, auth, billing);
  add_client_routes(
    *routes, auth,
    client_area_backend{
      d.services, d.catalog,
      [pool = d.pool.get()](std::function<void()> fn) {
        pool->submit(std::move(fn));
      },
      // As of the log's head: a tab shows what is there.
      [f = d.product_data_lookup()](const std::string& id) {
        return f(id, 0);
      },
      [f = d.service_data_lookup()](const events::uuid& id) {
        return f(id, 0);
      },
      // The billing projection's once a period is paid, as the admin's.
      [prov = d.provisioning, bill = d.billing_list](const events::uuid& id) {
        auto text = events::to_string(id);
        if (auto sb = bill->service(text); sb && !sb->paid_until.empty())
          return sb->next_due_date();
        auto row = prov->service(text);
        return row ? row->next_due_date : std::string{};
      },
      [waits = d.waits, prov = d.provisioning, store = d.store.get(),
       wait = d.opts.read_wait](const std::function<void()>& fn) {
        waits->when_reached({prov, &prov->gate()}, store->last_position(), wait,
                            fn, fn);
      },
      [f = d.service_data_lookup(std::chrono::milliseconds(0))](
        const events::uuid& id) {
        return f(id, 0);
      },
      [prov = d.provisioning](const std::string& id) {
        return prov->product_name(id);
      }});
  if (d.opts.extra_routes)
    d.opts.extra_routes(*routes);
  *openapi = routes->openapi("Billow", "0.1.0");
  // The server before the front actor: the front runs on its I/O threads.
  // Requests reach it only after `start`, when `front` is set.
  d.server = std::make_unique<http_server>(
    d.opts.http,
    [&front = d.front](exchange_ptr ex) {
      caf::anon_send(front, std::move(ex));
    },
    std::make_shared<http_metrics>(d.registry));
  // A shutdown does not wait for reads waiting for a position: they answer
  // 503 at once (their exchanges are dropped), the drain goes on.
  d.server->on_drain([waits = d.waits] {
    waits->close();
  });
  d.front_unit = std::make_shared<io_execution_unit>(
    *d.sys, [server = d.server.get()](std::function<void()> fn) {
      server->post(std::move(fn));
    });
  d.front = spawn_front(*d.sys, std::move(routes), d.front_unit);
  if (ec = d.server->start(); ec) {
    d.front_unit->loop_ended(); // no I/O loop will run the front actor
    d.server.reset();
    return make_error(billow_errc::unavailable,
                      "cannot listen on " + d.opts.http.host + ":"
                        + std::to_string(d.opts.http.port) + ": "
                        + ec.message());
  }
  spdlog::info("listening on http://{}:{} (data in {}, log at position {})",
               d.opts.http.host, d.server->port(), d.opts.data_dir.string(),
               d.store->last_position());
  return caf::none;
}

uint16_t application::port() const noexcept {
  return impl_->server ? impl_->server->port() : 0;
}

void application::shutdown() {
  if (impl_->server)
    impl_->server->shutdown();
}

void application::wait() {
  impl_->stop();
}

} // namespace billow::api
