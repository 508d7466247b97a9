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

#include "api/accounts.hpp"
#include "api/application.hpp"
#include "cli/logging.hpp"
#include "cli/settings.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"

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

/// Resolves the data directory the way `serve` does (flag > env > file >
/// default), for commands that work on a stopped server's data.
std::optional<std::filesystem::path>
resolve_data_dir(const std::optional<std::string>& flag,
                 const std::string& config_path, bool config_given) {
  settings_layer merged;
  merged.data_dir = flag;
  merged.fill_from(billow::cli::load_env_settings());
  if (config_given || std::filesystem::exists(config_path)) {
    auto file = billow::cli::load_toml_settings(config_path);
    if (!file) {
      std::cerr << "billow: " << billow::detail_of(file.error()) << "\n";
      return std::nullopt;
    }
    merged.fill_from(*file);
  }
  return std::filesystem::path{merged.data_dir.value_or("data")};
}

int run_admin_create(const std::filesystem::path& data_dir,
                     const std::string& email, std::string password,
                     bool password_stdin, const std::string& group) {
  if (password_stdin) {
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r')
      password.pop_back();
  }
  if (password.empty()) {
    std::cerr << "billow: give --password or --password-stdin\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  billow::events::store_options opts;
  opts.dir = billow::api::log_dir(data_dir).string();
  auto store = billow::events::event_store::open(std::move(opts));
  if (!store) {
    std::cerr << "billow: " << billow::detail_of(store.error());
    if (billow::errc_of(store.error()) == billow::billow_errc::data_dir_locked)
      std::cerr << " (is billow serve running on it? stop it first)";
    std::cerr << "\n";
    return 1;
  }
  auto id = billow::api::create_admin(**store, email, password, group);
  if (!id) {
    std::cerr << "billow: " << billow::detail_of(id.error()) << "\n";
    return billow::errc_of(id.error()) == billow::billow_errc::storage_error
      ? 1
      : 2;
  }
  std::cout << "created admin " << *id << " (" << email << ", group " << group
            << ")\n";
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

  auto* admin = cli.add_subcommand("admin", "Manage admin accounts");
  admin->require_subcommand(1);
  auto* admin_create = admin->add_subcommand(
    "create", "Create an admin (on a stopped server's data directory)");
  std::string admin_email, admin_password, admin_group = "owner";
  bool admin_password_stdin = false;
  std::optional<std::string> admin_data;
  admin_create->add_option("--email", admin_email, "Login email")->required();
  admin_create->add_option("--password", admin_password,
                           "Password (8+ characters)");
  admin_create->add_flag("--password-stdin", admin_password_stdin,
                         "Read the password from the first line of stdin");
  admin_create->add_option("--group", admin_group, "owner | read_only")
    ->capture_default_str();
  admin_create->add_option("--data", admin_data,
                           "Data directory (env BILLOW_DATA)");
  admin_create->add_option("--config", config_path, "Settings file (TOML)");

  CLI11_PARSE(cli, argc, argv);

  if (*version) {
    std::printf(
      "billow 0.1.0 (CAF %d.%d.%d, RocksDB %d.%d.%d, Boost %d.%d.%d)\n",
      CAF_MAJOR_VERSION, CAF_MINOR_VERSION, CAF_PATCH_VERSION, ROCKSDB_MAJOR,
      ROCKSDB_MINOR, ROCKSDB_PATCH, BOOST_VERSION / 100000,
      BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
    return 0;
  }
  if (*admin_create) {
    auto data
      = resolve_data_dir(admin_data, config_path,
                         admin_create->get_option("--config")->count() > 0);
    if (!data)
      return 2;
    return run_admin_create(*data, admin_email, admin_password,
                            admin_password_stdin, admin_group);
  }
  return run_serve(std::move(flags), config_path, config_opt->count() > 0);
}
