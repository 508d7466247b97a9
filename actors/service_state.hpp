#pragma once

#include <optional>
#include <string_view>

#include <boost/json/object.hpp>

#include "actors/aggregate.hpp"
#include "actors/service.hpp"

namespace billow::actors {

/// The pure, event-built state of one service.
struct service_state {
  service_status status = service_status::none;
  provision_status provision = provision_status::pending;
  /// The operation in progress.
  service_op pending_op = service_op::none;
  /// The operation of `job_id` (in progress or the last one).
  service_op last_op = service_op::none;
  events::uuid job_id;
  events::uuid client_id;
  events::uuid product_id;
  /// change_package's target while it is in progress.
  events::uuid new_product_id;
  std::string module;
  std::string last_error;
  /// As ordered (`service.opened`); empty when it named none.
  std::string period;
  std::string label;
  /// The job policy of the operation in progress (to re-queue its job).
  std::optional<job_policy> pending_policy;

  static void apply(service_state& st, std::string_view type,
                    const boost::json::object& p);
  boost::json::object to_json() const;
  static service_state from_json(const boost::json::object& obj);
};

/// The transition table, part 1: may `open` run? Events or a typed error.
decision decide_open(const service_state& st, const open_service& cmd);

/// The transition table, part 2: a lifecycle command at `version`; `job_id`
/// is the id its job will get.
decision decide_lifecycle(const service_state& st, uint64_t version,
                          const service_command& cmd,
                          const events::uuid& job_id);

/// Records a finished job's outcome; no events when it is not (or no
/// longer) the service's operation.
decision decide_outcome(const service_state& st, const job_view& job);

/// The job that carries out the operation in progress.
job_spec pending_job_spec(const service_state& st, const events::uuid& id);

} // namespace billow::actors
