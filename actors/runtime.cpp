#include "actors/runtime.hpp"

#include <thread>

#include <caf/actor_system_config.hpp>

#include "actors/type_ids.hpp"
#include "events/errc.hpp"

namespace billow::actors {

std::unique_ptr<caf::actor_system_config>
make_actor_system_config(const runtime_options& opts) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  auto threads = opts.scheduler_threads;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  cfg->set("scheduler.max-threads", threads);
  if (opts.deterministic)
    cfg->set("scheduler.policy", caf::atom("testing"));
  // CAF's own logger and console output are not used: spdlog is Billow's log.
  cfg->set("logger.console", caf::atom("none"));
  register_error_category(*cfg);
  cfg->add_message_types<caf::id_block::billow_actors>();
  return cfg;
}

} // namespace billow::actors
