#include "projections/state_at.hpp"

#include <boost/json.hpp>

#include "actors/job_state.hpp"
#include "actors/service.hpp"
#include "actors/service_state.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "events/validation.hpp"

namespace billow::projections {

caf::expected<boost::json::object> state_at(const events::event_store& store,
                                            const std::string& stream,
                                            point_in_log at) {
  if (auto err = events::validate_stream_id(stream))
    return err;
  bool is_service = stream.rfind("service-", 0) == 0;
  bool is_job = stream.rfind("job-", 0) == 0;
  actors::service_state service;
  actors::job_state job;
  boost::json::object merged;
  uint64_t version = 0, position = 0;
  bool past = false; // reached an event after `at`
  for (uint64_t from = 1; !past;) {
    auto page = store.read_stream(stream, from, events::read_direction::forward,
                                  512);
    if (!page)
      return std::move(page.error());
    for (const auto& ev : *page) {
      // The stream's later events are later in the log too: stop here.
      past = (at.position && ev.position > *at.position)
        || (at.time_us && ev.time_us > *at.time_us);
      if (past)
        break;
      boost::system::error_code ec;
      auto payload = boost::json::parse(ev.payload, ec);
      if (ec || !payload.is_object())
        return make_error(billow_errc::corruption,
                          "event at position " + std::to_string(ev.position)
                            + " has no JSON object payload");
      const auto& obj = payload.as_object();
      if (is_service)
        actors::service_state::apply(service, ev.type, obj);
      else if (is_job)
        actors::job_state::apply(job, ev.type, obj);
      else
        for (const auto& [k, v] : obj)
          merged[k] = v;
      version = ev.version;
      position = ev.position;
    }
    if (page->size() < 512)
      break;
    from += page->size();
  }
  if (version == 0)
    return make_error(billow_errc::not_found,
                      "stream " + stream + " had no events by then");
  boost::json::object out{
    {"stream", stream}, {"version", version}, {"position", position}};
  if (is_service) {
    // As the API shows a service: names, not the snapshot's numbers, and
    // null where there is nothing (no operation pending, no job, ...).
    auto or_null = [](bool none, std::string_view text) {
      return none ? boost::json::value(nullptr) : boost::json::value(text);
    };
    out["state"] = boost::json::object{
      {"status", actors::to_string(service.status)},
      {"provision_status", actors::to_string(service.provision)},
      {"pending_operation",
       or_null(service.pending_op == actors::service_op::none,
               actors::to_string(service.pending_op))},
      {"client_id", events::to_string(service.client_id)},
      {"product_id", events::to_string(service.product_id)},
      {"module", or_null(service.module.empty(), service.module)},
      {"job_id",
       or_null(service.job_id.is_nil(), events::to_string(service.job_id))},
      {"last_error", or_null(service.last_error.empty(), service.last_error)},
    };
  } else {
    out["state"] = is_job ? job.to_json() : merged;
  }
  return out;
}

} // namespace billow::projections
