#pragma once

// The type-ID block of actors/: every non-atom type sent in an actors/
// message. Registered by `make_actor_system_config` (actors/runtime.hpp).
// It starts 100 ids after CAF's first custom id, leaving room for the events
// block before it. Debian's CAF does not check ids at compile time: a new
// message type must be added here by hand (review checks it).

#include <vector>

#include <caf/type_id.hpp>

#include "actors/aggregate.hpp"
#include "actors/entity.hpp"
#include "actors/job.hpp"
#include "actors/job_state.hpp"
#include "actors/registry.hpp"
#include "actors/scheduler.hpp"
#include "actors/service.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(billow_actors, caf::first_custom_type_id + 100)

  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::command_result))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::open_service))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::service_command))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::service_view))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::registry_stats))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::job_policy))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::job_spec))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::job_view))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::job_stats))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::attempt_outcome))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::schedule_view))
  CAF_ADD_TYPE_ID(billow_actors, (std::vector<billow::actors::schedule_view>))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::service_command_reply))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::entity_command))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::client_view))
  CAF_ADD_TYPE_ID(billow_actors, (billow::actors::product_view))

CAF_END_TYPE_ID_BLOCK(billow_actors)
