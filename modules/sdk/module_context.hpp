#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <caf/expected.hpp>

#include "modules/sdk/http_client.hpp"
#include "modules/sdk/log_sink.hpp"
#include "modules/sdk/manifest.hpp"
#include "modules/sdk/secret_box.hpp"
#include "modules/sdk/task_queue.hpp"
#include "modules/sdk/view_renderer.hpp"

namespace billow::modules::sdk {

/// What the host hands a module: its identity, folder, configuration and the
/// ports to the rest of Billow. Missing ports degrade to clear errors.
struct context_options {
  module_manifest manifest;
  /// The module's folder (`modules/{Type}/{Name}`), home of views/ and lang/.
  std::filesystem::path module_dir;
  /// The module's configuration (for Notification and Payment modules, the
  /// seed's module data).
  boost::json::object config;
  /// Language code of the strings views get (`lang/{code}.json`).
  std::string lang = "en";
  /// Where log records go besides spdlog (module log events); may be null.
  std::shared_ptr<log_sink> log;
  /// Where `tasks().add` queues jobs; may be null (add answers unavailable).
  std::shared_ptr<task_queue> tasks;
  /// Seals and opens secrets; without it `seal`/`unseal` answer unavailable.
  std::optional<secret_box> secrets;
};

/// The seed's `Task::add` for one module: queues a job method of this module.
class module_tasks {
public:
  module_tasks(std::shared_ptr<task_queue> queue, std::string module_type,
               std::string module_name);

  /// Queues job `method` with `data` and `tags`; answers the job id.
  caf::expected<std::string> add(std::string method, boost::json::object data,
                                 std::vector<std::string> tags = {},
                                 job_options options = {}) const;

private:
  std::shared_ptr<task_queue> queue_;
  std::string module_type_;
  std::string module_name_;
};

/// A module's view of Billow: `config(key)`, logging, `tasks()`, `view(...)`,
/// an HTTP client and sealing of secrets. Immutable once made, so it is safe
/// to use from several job workers at once; a new configuration is a new
/// context (`module::attach`).
class module_context {
public:
  explicit module_context(context_options opts);

  const module_manifest& manifest() const noexcept {
    return opts_.manifest;
  }

  const std::filesystem::path& module_dir() const noexcept {
    return opts_.module_dir;
  }

  /// The whole configuration.
  const boost::json::object& config() const noexcept {
    return opts_.config;
  }

  /// The seed's `config($key)`: the value at `key`, where dots walk into
  /// nested objects (`smtp.port`); `null` when absent.
  boost::json::value config(std::string_view key) const;

  /// Writes a log record to the sink and an spdlog line. `data` must not
  /// hold clear secrets.
  void log(log_level level, std::string_view action, std::string_view message,
           boost::json::value data = nullptr) const;

  /// Queues jobs of this module.
  module_tasks tasks() const;

  /// Renders `views/{template}.mustache` (dots are folders) with `data` and
  /// the module's lang strings; HTML-escaped by default.
  caf::expected<std::string> view(std::string_view template_name,
                                  const boost::json::object& data) const;

  const view_renderer& views() const noexcept {
    return views_;
  }

  const http_client& http() const noexcept {
    return http_;
  }

  /// Seals a secret with the configured key.
  caf::expected<std::string> seal(std::string_view plaintext) const;

  /// Opens a sealed secret with the configured key.
  caf::expected<std::string> unseal(std::string_view sealed) const;

private:
  context_options opts_;
  view_renderer views_;
  http_client http_;
};

} // namespace billow::modules::sdk
