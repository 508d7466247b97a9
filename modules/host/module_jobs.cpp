#include "modules/host/module_jobs.hpp"

#include <future>
#include <mutex>
#include <vector>

#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/service.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "modules/host/module_catalog.hpp"
#include "modules/sdk/module.hpp"

namespace billow::modules {

namespace {

std::string text(const boost::json::object& obj, const char* key) {
  if (auto* v = obj.if_contains(key); v && v->is_string())
    return std::string{v->as_string()};
  return {};
}

} // namespace

boost::json::object latest_service_data(const events::event_store& store,
                                        const events::uuid& id) {
  auto evs = store.read_stream(actors::service_stream(id), 0,
                               events::read_direction::backward, 1000);
  if (!evs)
    return {};
  for (const auto& ev : *evs) {
    boost::system::error_code ec;
    auto payload = boost::json::parse(ev.payload, ec);
    if (ec || !payload.is_object())
      continue;
    auto result = text(payload.as_object(), "result");
    if (result.empty())
      continue;
    auto doc = boost::json::parse(result, ec);
    if (ec || !doc.is_object())
      continue;
    if (auto* data = doc.as_object().if_contains("service_data");
        data && data->is_object())
      return data->as_object();
  }
  return {};
}

catalog_module_port::catalog_module_port(const module_catalog& catalog,
                                         const events::event_store& store,
                                         product_lookup products,
                                         service_data_lookup service_data)
  : catalog_(catalog), store_(store), products_(std::move(products)),
    service_data_(std::move(service_data)) {
  // nop
}

caf::expected<std::string>
catalog_module_port::run_job(const actors::job_call& call) {
  auto slash = call.module.find('/');
  if (slash == std::string::npos)
    return make_error(billow_errc::invalid_argument,
                      "module must be Type/name, got '" + call.module + "'");
  auto type = call.module.substr(0, slash);
  auto name = call.module.substr(slash + 1);
  auto instance = catalog_.active_instance(type, name);
  if (!instance)
    return make_error(billow_errc::module_failure,
                      "module " + call.module + " is not active");
  boost::system::error_code ec;
  auto input = boost::json::parse(call.input, ec);
  if (ec || !input.is_object())
    return make_error(billow_errc::invalid_argument,
                      "job input is not a JSON object");
  sdk::job_call jc;
  jc.method = call.method;
  jc.data = input.as_object();
  if (!call.service_id.is_nil()) {
    sdk::service_context svc;
    svc.service_uuid = events::to_string(call.service_id);
    svc.client_uuid = text(jc.data, "client_id");
    // A package change runs with the new product's data.
    auto product_id = text(jc.data, "new_product_id");
    if (product_id.empty())
      product_id = text(jc.data, "product_id");
    // Read as of the attempt's start: the log before it holds all it needs.
    auto product = products_ ? products_(product_id, call.started_at)
                             : std::nullopt;
    if (!product)
      return make_error(billow_errc::not_found,
                        "product " + product_id + " of the service is unknown");
    svc.product_data = std::move(*product);
    svc.service_data = service_data_
      ? service_data_(call.service_id, call.started_at)
      : latest_service_data(store_, call.service_id);
    jc.service = std::move(svc);
  }
  // Exceptions propagate: the runtime counts them against max_exceptions.
  if (auto res = instance->run_job(jc); !res)
    return res.error();
  boost::json::object result;
  if (jc.service)
    result["service_data"] = jc.service->service_data;
  return boost::json::serialize(result);
}

namespace {

/// Caller -> bridge: jobs are waiting in the shared queue.
using add_kick_atom = caf::atom_constant<caf::atom("task_kick")>;

} // namespace

struct job_task_queue::shared {
  /// One waiting `add`.
  struct item {
    actors::job_spec spec;
    std::promise<caf::expected<std::string>> done;
  };

  std::mutex mtx;
  std::vector<std::shared_ptr<item>> queue;
  /// True while a kick is on its way to the bridge.
  bool kicked = false;
  /// Set when the bridge ended: adds answer `unavailable` at once.
  bool closed = false;
  caf::actor bridge;
};

namespace {

caf::behavior task_bridge(caf::event_based_actor* self,
                          const std::shared_ptr<job_task_queue::shared>& sh,
                          const actors::job_manager_actor& jobs) {
  self->link_to(jobs);
  self->attach_functor([sh] {
    std::vector<std::shared_ptr<job_task_queue::shared::item>> left;
    {
      std::lock_guard guard{sh->mtx};
      sh->closed = true;
      left.swap(sh->queue);
    }
    for (auto& x : left)
      x->done.set_value(
        make_error(billow_errc::unavailable, "the job runtime has stopped"));
  });
  return {
    [self, sh, jobs](add_kick_atom) {
      std::vector<std::shared_ptr<job_task_queue::shared::item>> batch;
      {
        std::lock_guard guard{sh->mtx};
        batch.swap(sh->queue);
        sh->kicked = false;
      }
      for (auto& x : batch)
        self
          ->request(jobs, caf::infinite, actors::job_add_atom::value,
                    std::move(x->spec))
          .then(
            [x](const actors::job_view& v) {
              x->done.set_value(events::to_string(v.job_id));
            },
            [x](caf::error& err) {
              // CAF's own errors here mean the manager is gone.
              if (err.category() != billow_error_category)
                err = make_error(billow_errc::unavailable,
                                 "the job runtime has stopped");
              x->done.set_value(std::move(err));
            });
    },
  };
}

} // namespace

job_task_queue::job_task_queue(caf::actor_system& sys,
                               actors::job_manager_actor jobs)
  : shared_(std::make_shared<shared>()) {
  shared_->bridge = sys.spawn(task_bridge, shared_, std::move(jobs));
}

// The bridge ends with the job manager it is linked to: this may run after
// the actor system is gone, so it sends nothing.
job_task_queue::~job_task_queue() = default;

caf::expected<std::string> job_task_queue::add(sdk::task_request request) {
  auto x = std::make_shared<shared::item>();
  auto& spec = x->spec;
  spec.module = request.module_type + "/" + request.module_name;
  spec.method = std::move(request.method);
  spec.input = boost::json::serialize(request.data);
  spec.tags = std::move(request.tags);
  spec.policy.tries = static_cast<uint32_t>(std::max(1, request.options.tries));
  spec.policy.backoff_s
    = {static_cast<uint32_t>(request.options.backoff.count())};
  spec.policy.timeout_s = static_cast<uint32_t>(
    std::max<int64_t>(1, request.options.timeout.count()));
  spec.policy.max_exceptions
    = static_cast<uint32_t>(std::max(0, request.options.max_exceptions));
  spec.actor = "module:" + spec.module;
  auto fut = x->done.get_future();
  caf::actor kick;
  {
    std::lock_guard guard{shared_->mtx};
    if (shared_->closed)
      return make_error(billow_errc::unavailable,
                        "the job runtime has stopped");
    shared_->queue.push_back(std::move(x));
    if (!shared_->kicked) {
      shared_->kicked = true;
      kick = shared_->bridge;
    }
  }
  if (kick)
    caf::anon_send(kick, add_kick_atom::value);
  // The bridge answers within its request's 30 s; a little more here.
  if (fut.wait_for(std::chrono::seconds(35)) != std::future_status::ready)
    return make_error(billow_errc::timeout, "the job was not queued in time");
  try {
    return fut.get();
  } catch (const std::future_error&) {
    // The bridge ended (shutdown) before it answered.
    return make_error(billow_errc::unavailable, "the job runtime has stopped");
  }
}

} // namespace billow::modules
