#pragma once

// Forward declarations for billow::events, so that headers which only pass
// these types around need not include their definitions.

namespace billow::events {

struct uuid;
struct new_event;
struct envelope;
struct append_result;
struct snapshot;
struct log_query;
struct log_page;
struct verify_report;
struct store_options;
class expected_version;
class event_store;
class upcaster_registry;

} // namespace billow::events
