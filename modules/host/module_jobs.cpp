#include "modules/host/module_jobs.hpp"

#include <boost/json.hpp>
#include <caf/scoped_actor.hpp>

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
                                         product_lookup products)
  : catalog_(catalog), store_(store), products_(std::move(products)) {
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
    auto product = products_ ? products_(product_id) : std::nullopt;
    if (!product)
      return make_error(billow_errc::not_found,
                        "product " + product_id + " of the service is unknown");
    svc.product_data = std::move(*product);
    svc.service_data = latest_service_data(store_, call.service_id);
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

job_task_queue::job_task_queue(caf::actor_system& sys,
                               actors::job_manager_actor jobs)
  : sys_(sys), jobs_(std::move(jobs)) {
  // nop
}

caf::expected<std::string> job_task_queue::add(sdk::task_request request) {
  actors::job_spec spec;
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
  caf::scoped_actor self{sys_};
  caf::expected<std::string> out{std::string{}};
  self
    ->request(jobs_, std::chrono::seconds(30), actors::job_add_atom::value,
              spec)
    .receive(
      [&](const actors::job_view& v) {
        out = events::to_string(v.job_id);
      },
      [&](caf::error& err) {
        out = std::move(err);
      });
  return out;
}

} // namespace billow::modules
