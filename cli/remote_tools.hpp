#pragma once

// The operator tools through a running server's admin API (see remote.hpp):
// the same output as on a stopped server's data directory, one JSON line
// per event, so scripts work against either.

#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/remote.hpp"

namespace billow::cli {

/// What `billow events query|show|tail` asks for.
struct events_request {
  /// "query", "show" or "tail".
  std::string command;
  std::string type;
  std::string stream_prefix;
  std::string actor;
  std::string correlation_id;
  /// RFC 3339 bounds of the commit time.
  std::string from;
  std::string to;
  /// query: start after this position.
  uint64_t after = 0;
  /// show: the position.
  uint64_t position = 0;
  /// query: at most this many; tail: the last this many.
  size_t count = 100;
  /// tail: go on printing events as they are committed (server only).
  bool follow = false;
};

/// `billow login`: prints a bearer token for `email` (exit status 0), or
/// why not (1 transport, 3 refused).
int remote_login(const remote& server, const std::string& email,
                 const std::string& password);

int remote_events(const remote& server, const events_request& req);

int remote_state(const remote& server, const std::string& stream,
                 const std::string& at);

int remote_verify(const remote& server);

} // namespace billow::cli
