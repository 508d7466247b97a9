// `billow`: the one binary. Subcommands: serve, version (later issues add
// admin, modules, events, state, replay, verify and bench).

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/version.hpp>
#include <caf/config.hpp>
#include <rocksdb/version.h>
#include <spdlog/spdlog.h>

#include "api/application.hpp"
#include "cli/logging.hpp"
#include "cli/settings.hpp"
#include "events/errc.hpp"

namespace {

using billow::cli::settings_layer;

int run_serve(settings_layer flags, const std::string& config_path,
              bool config_given) {
  settings_layer merged = std::move(flags);
  merged.fill_from(billow::cli::load_env_settings());
  if (config_given || std::filesystem::exists(config_path)) {
    auto file = billow::cli::load_toml_settings(config_path);
    if (!file) {
      std::cerr << "billow: " << billow::detail_of(file.error()) << "\n";
      return 2;
    }
    merged.fill_from(*file);
  }
  auto settings = billow::cli::resolve_settings(merged);
  if (!settings) {
    std::cerr << "billow: " << billow::detail_of(settings.error()) << "\n";
    return 2;
  }
  billow::cli::setup_logging(settings->log_level, settings->format);
  settings->app.http.handle_signals = true;
  billow::api::application app{std::move(settings->app)};
  if (auto err = app.start()) {
    spdlog::error("{}",
                  billow::detail_of(err).empty() ? caf::to_string(err)
                                                 : billow::detail_of(err));
    return 1;
  }
  app.wait();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Billow: billing and service automation, event-sourced.",
               "billow"};
  cli.require_subcommand(1);

  settings_layer flags;
  std::string config_path = "billow.toml";
  auto* serve = cli.add_subcommand("serve", "Serve the HTTP API");
  auto* config_opt
    = serve
        ->add_option("--config", config_path,
                     "Settings file (TOML); default billow.toml if present")
        ->envname("BILLOW_CONFIG");
  serve->add_option("--listen", flags.listen, "host:port (env BILLOW_LISTEN)");
  serve->add_option("--data", flags.data_dir,
                    "Data directory (env BILLOW_DATA)");
  serve->add_option("--log-level", flags.log_level,
                    "trace|debug|info|warn|error|off (env BILLOW_LOG_LEVEL)");
  serve->add_option("--log-format", flags.log_format,
                    "text|json (env BILLOW_LOG_FORMAT)");
  serve->add_option("--body-limit", flags.body_limit,
                    "Largest request body in bytes (env BILLOW_BODY_LIMIT)");
  serve->add_option("--header-timeout-ms", flags.header_timeout_ms,
                    "Time allowed to send a request's headers");
  serve->add_option("--idle-timeout-ms", flags.idle_timeout_ms,
                    "Time a keep-alive connection may stay idle");
  serve->add_option("--shutdown-timeout-ms", flags.shutdown_timeout_ms,
                    "Grace period for in-flight requests on shutdown");
  serve->add_option("--io-threads", flags.io_threads,
                    "HTTP I/O threads (env BILLOW_IO_THREADS)");
  serve->add_option("--scheduler-threads", flags.scheduler_threads,
                    "Actor scheduler threads (env BILLOW_SCHEDULER_THREADS)");

  auto* version = cli.add_subcommand("version", "Print versions and exit");

  CLI11_PARSE(cli, argc, argv);

  if (*version) {
    std::printf(
      "billow 0.1.0 (CAF %d.%d.%d, RocksDB %d.%d.%d, Boost %d.%d.%d)\n",
      CAF_MAJOR_VERSION, CAF_MINOR_VERSION, CAF_PATCH_VERSION, ROCKSDB_MAJOR,
      ROCKSDB_MINOR, ROCKSDB_PATCH, BOOST_VERSION / 100000,
      BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
    return 0;
  }
  return run_serve(std::move(flags), config_path, config_opt->count() > 0);
}
