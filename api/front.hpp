#pragma once

// The front actor: where every HTTP request arrives as a message. Its turns
// run on the HTTP server's I/O threads (io_execution_unit.hpp), so a request
// is routed on the thread that read it.
//
//   session --exchange_ptr--> front actor --route handler-->
//       reply now, or request(...).then(...) another actor and reply later
//   exchange::reply --dispatch--> session (at once on its own I/O thread)
//       --> write the response
//
// The front actor never blocks: handlers that need state ask the owning actor
// and answer from the response handler. Requests that wait in its
// `pending_answers` are swept once a second: past their deadline they answer
// 504 problem+json.

#include <memory>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include "api/http_types.hpp"
#include "api/router.hpp"

// In-process handle: an exchange carries a callback to its connection.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(billow::api::exchange_ptr)

namespace billow::api {

class io_execution_unit;

/// Spawns the front actor serving `routes`, running on `unit`. Unknown paths
/// answer 404, known paths under another method 405 with `Allow`, and a
/// handler that throws 500; each as problem+json.
caf::actor spawn_front(caf::actor_system& sys,
                       std::shared_ptr<const route_table> routes,
                       std::shared_ptr<io_execution_unit> unit);

class pending_answers;

/// Answers `ex` by the routes, on the calling actor; handlers see `pending`
/// (the calling actor's own) as `request_context::pending`.
void dispatch(caf::event_based_actor* self, const route_table& routes,
              const exchange_ptr& ex, pending_answers& pending);

} // namespace billow::api
