#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "modules/sdk/module.hpp"

namespace billow::modules::sdk {

/// Periodic work a plugin asks the scheduler for: run job `method` every
/// `interval`.
struct scheduled_job {
  std::string method;
  std::chrono::seconds interval{300};
  job_options options;
};

/// A module that extends Billow without managing services (the seed's
/// `Plugin`): lifecycle, admin pages, scheduled jobs and hooks.
class plugin : public module {
public:
  module_type type() const noexcept final {
    return module_type::plugin;
  }

  /// The jobs the scheduler runs periodically. Default: none.
  virtual std::vector<scheduled_job> schedule() const;
};

} // namespace billow::modules::sdk
