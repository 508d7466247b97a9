#pragma once

#include <cstddef>
#include <memory>

#include <caf/fwd.hpp>

namespace billow::actors {

/// How the actor runtime is sized. Defaults suit a 2-core machine.
struct runtime_options {
  /// Worker threads of CAF's scheduler; 0 means one per hardware thread.
  std::size_t scheduler_threads = 0;
  /// Use CAF's deterministic testing scheduler (tests only).
  bool deterministic = false;
};

/// Makes an actor system config with Billow's error category and message
/// types registered and the scheduler sized by `opts`.
std::unique_ptr<caf::actor_system_config>
make_actor_system_config(const runtime_options& opts);

} // namespace billow::actors
