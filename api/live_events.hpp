#pragma once

// Live events over server-sent events:
//   GET /api/v1/admin/events/live?after=N   (events.read; `Last-Event-ID`
//   resumes after that position)
//
// Each committed event becomes one SSE message:
//
//   id: <position>
//   event: <type>
//   data: <the envelope as JSON, one line>
//
// A subscription feeds an actor that writes each page to the connection and
// answers the subscription only after the page was written, so a slow
// client slows its own subscription (which then catches up from the store)
// and never makes the server buffer. A comment line every 15 s tells a dead
// connection from a quiet log.

#include <memory>

#include "api/auth.hpp"
#include "api/router.hpp"
#include "events/writer.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::api {

class answer_filter;

/// Each event goes through `answers` (answers.hpp) as any answer does: no
/// secret field, personal values revealed (null: secrets dropped only).
void add_live_events_route(
  route_table& routes, const std::shared_ptr<const auth_context>& auth,
  events::event_store& store, const events::writer_actor& writer,
  std::shared_ptr<const answer_filter> answers = nullptr);

} // namespace billow::api
