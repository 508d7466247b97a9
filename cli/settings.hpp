#pragma once

// `billow serve`'s settings and where they come from. Precedence, highest
// first: command-line flags > environment (BILLOW_*) > billow.toml > defaults.

#include <optional>
#include <string>

#include <caf/expected.hpp>

#include "api/application.hpp"

namespace billow::cli {

/// The log's shape: human text or one JSON object per line.
enum class log_format { text, json };

/// One layer of settings: every field optional so layers can be merged.
struct settings_layer {
  std::optional<std::string> listen; // host:port
  std::optional<std::string> data_dir;
  std::optional<std::string> modules_dir;
  std::optional<std::string> clock; // system | manual
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  std::optional<long long> body_limit;
  std::optional<long long> header_timeout_ms;
  std::optional<long long> idle_timeout_ms;
  std::optional<long long> shutdown_timeout_ms;
  std::optional<long long> io_threads;
  std::optional<long long> scheduler_threads;

  /// Fills every field unset here from `lower` (a layer of lower precedence).
  void fill_from(const settings_layer& lower);
};

/// The resolved settings of a `billow serve`.
struct serve_settings {
  api::application_options app;
  std::string log_level = "info";
  log_format format = log_format::text;
};

/// Reads a billow.toml (see docs/configuration.md). Unknown keys and wrong
/// types are errors that name the key.
caf::expected<settings_layer> load_toml_settings(const std::string& path);

/// Reads the BILLOW_* environment variables.
settings_layer load_env_settings();

/// Validates a merged layer and turns it into settings; defaults fill gaps.
caf::expected<serve_settings> resolve_settings(const settings_layer& merged);

/// Splits `host:port` (IPv6 as `[::1]:8080`).
caf::expected<std::pair<std::string, uint16_t>>
parse_listen(const std::string& text);

} // namespace billow::cli
