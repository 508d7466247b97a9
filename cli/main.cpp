// `billow`: the one binary. Subcommands: serve, version, admin create,
// modules, login, events, state, replay, verify. The operator tools read a
// stopped server's data directory, or a running server's admin API with
// --server.

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <boost/version.hpp>
#include <caf/config.hpp>
#include <fmt/format.h>
#include <rocksdb/version.h>
#include <spdlog/spdlog.h>

#include "api/accounts.hpp"
#include "api/answers.hpp"
#include "api/application.hpp"
#include "api/audit_routes.hpp"
#include "api/data_dir.hpp"
#include "api/json_body.hpp"
#include "cli/logging.hpp"
#include "cli/remote_tools.hpp"
#include "cli/settings.hpp"
#include "events/errc.hpp"
#include "events/event_store.hpp"
#include "modules/host/module_catalog.hpp"
#include "projections/known.hpp"
#include "projections/state_at.hpp"

namespace {

using billow::cli::settings_layer;

std::filesystem::path builtin_modules_dir();

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
  if (settings->app.modules_dir.empty())
    settings->app.modules_dir = builtin_modules_dir();
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

/// The built-in modules: the `modules` folder beside the billow binary.
std::filesystem::path builtin_modules_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path{"modules"} : exe.parent_path() / "modules";
}

/// Opens a stopped server's data directory (its log, with the vault), or
/// says why not.
std::unique_ptr<billow::api::stopped_data_dir>
open_stopped_store(const std::filesystem::path& data_dir,
                   bool with_projections = false) {
  auto dir = billow::api::open_data_dir(data_dir, with_projections);
  if (!dir) {
    std::cerr << "billow: " << billow::detail_of(dir.error());
    if (billow::errc_of(dir.error()) == billow::billow_errc::data_dir_locked)
      std::cerr << " (is billow serve running on it? stop it first, or use "
                   "the HTTP API)";
    std::cerr << "\n";
    return nullptr;
  }
  return std::move(*dir);
}

/// `billow replay <projection>`: drops the projection's read model and
/// checkpoint and rebuilds it from position 1, with a progress bar on a
/// terminal (periodic lines otherwise) and a final count and rate.
int run_replay(const std::filesystem::path& data_dir, const std::string& name) {
  auto proj = billow::projections::make_projection(name);
  if (!proj) {
    std::string known;
    for (const auto& n : billow::projections::known_projections())
      known += (known.empty() ? "" : ", ") + n;
    std::cerr << fmt::format("billow: no projection named '{}' (known: {})\n",
                             name, known);
    return 2;
  }
  auto dir = open_stopped_store(data_dir, true);
  if (!dir)
    return 1;
  auto& store = *dir->store;
  using clock = std::chrono::steady_clock;
  bool tty = ::isatty(STDERR_FILENO) == 1;
  auto t0 = clock::now();
  auto last_report = t0;
  auto progress = [&](uint64_t done, uint64_t total) {
    auto now = clock::now();
    if (done < total
        && now - last_report
          < (tty ? std::chrono::milliseconds(100) : std::chrono::seconds(2)))
      return;
    last_report = now;
    double frac = total == 0
      ? 1.0
      : static_cast<double>(done) / static_cast<double>(total);
    if (tty) {
      constexpr int width = 40;
      auto filled = static_cast<int>(frac * width);
      std::cerr << fmt::format("\r{} [{}{}] {:3.0f}% {}/{} events", name,
                               std::string(filled, '#'),
                               std::string(width - filled, '.'), frac * 100,
                               done, total)
                << std::flush;
    } else {
      std::cerr << fmt::format("{}: {}/{} events ({:.0f}%)\n", name, done,
                               total, frac * 100);
    }
  };
  auto events = proj->rebuild(store, billow::projections::rebuild_commits,
                              progress);
  if (tty)
    std::cerr << "\n";
  if (!events) {
    std::cerr << "billow: replay failed: " << billow::detail_of(events.error())
              << "\n";
    return 1;
  }
  double seconds = std::chrono::duration<double>(clock::now() - t0).count();
  std::cout << fmt::format(
    "replayed {}: {} events in {:.3f} s ({:.0f} events/s)\n", name, *events,
    seconds, seconds > 0 ? static_cast<double>(*events) / seconds : 0.0);
  return 0;
}

/// `billow modules list|activate|deactivate` on a stopped server's data.
int run_modules(const std::filesystem::path& data_dir,
                const std::filesystem::path& modules_dir,
                const std::string& command, const std::string& type,
                const std::string& name, bool json) {
  auto dir = open_stopped_store(data_dir);
  if (!dir)
    return 1;
  auto& store = *dir->store;
  auto* raw = &store;
  billow::modules::module_catalog catalog{
    store,
    [raw](const std::string& stream, billow::events::expected_version expected,
          std::vector<billow::events::new_event> evs) {
      return raw->append(stream, expected, std::move(evs));
    },
    modules_dir};
  auto found = catalog.scan("system");
  if (!found) {
    std::cerr << "billow: " << billow::detail_of(found.error()) << "\n";
    return 1;
  }
  if (command != "list") {
    auto res = command == "activate" ? catalog.activate(type, name, "system")
                                     : catalog.deactivate(type, name, "system");
    if (!res) {
      std::cerr << "billow: " << billow::detail_of(res.error()) << "\n";
      return 1;
    }
    std::cout << type << "/" << name << ": " << res->status << "\n";
    return 0;
  }
  auto all = catalog.list();
  if (json) {
    boost::json::array items;
    for (const auto& m : all)
      items.push_back(billow::modules::to_json(m));
    std::cout << boost::json::serialize(items) << "\n";
    return 0;
  }
  std::printf("%-13s %-12s %-9s %-9s %s\n", "TYPE", "NAME", "VERSION", "STATUS",
              "NOTE");
  for (const auto& m : all)
    std::printf("%-13s %-12s %-9s %-9s %s\n", m.type.c_str(), m.name.c_str(),
                m.version.c_str(), m.status.c_str(),
                m.error.empty() ? m.description.c_str() : m.error.c_str());
  return 0;
}

/// `billow verify`: walks the hash chain of a stopped server's log.
int run_verify(const std::filesystem::path& data_dir) {
  auto dir = open_stopped_store(data_dir);
  if (!dir)
    return 1;
  auto& store = *dir->store;
  auto report = store.verify(1, store.last_position());
  if (!report) {
    std::cerr << "billow: " << billow::detail_of(report.error()) << "\n";
    return 1;
  }
  boost::json::object out{{"ok", report->ok()}, {"checked", report->checked}};
  if (report->first_bad) {
    out["first_bad_position"] = *report->first_bad;
    out["problem"] = report->problem;
  }
  std::cout << boost::json::serialize(out) << "\n";
  return report->ok() ? 0 : 3;
}

/// `billow events query|show|tail`: the log of a stopped server, one JSON
/// envelope per line (secrets shown: this is the operator's own machine).
int run_events(const std::filesystem::path& data_dir,
               const billow::cli::events_request& req) {
  if (req.follow) {
    std::cerr << "billow: --follow needs --server (a stopped server's log "
                 "does not grow)\n";
    return 2;
  }
  billow::events::log_query q;
  q.from_position = req.after + 1;
  q.type = req.type;
  q.stream_prefix = req.stream_prefix;
  q.actor = req.actor;
  if (!req.correlation_id.empty()) {
    q.correlation_id = billow::events::uuid::parse(req.correlation_id);
    if (!q.correlation_id) {
      std::cerr << "billow: --correlation-id must be a UUID\n";
      return 2;
    }
  }
  for (auto [text, dst] : {std::pair{&req.from, &q.time_from_us},
                           std::pair{&req.to, &q.time_to_us}})
    if (!text->empty() && !(*dst = billow::api::parse_rfc3339(*text))) {
      std::cerr << "billow: --from and --to must be RFC 3339 times\n";
      return 2;
    }
  const auto& command = req.command;
  auto position = req.position;
  auto count = req.count;
  auto dir = open_stopped_store(data_dir);
  if (!dir)
    return 1;
  auto& store = *dir->store;
  // The answers' serializer, as over HTTP: no secret field, personal values
  // revealed (or "[erased]").
  billow::api::answer_filter answers{dir->vault.personal};
  auto print = [&answers](const billow::events::envelope& ev) {
    boost::json::value out = billow::api::envelope_json(ev, true);
    answers.apply(out);
    std::cout << boost::json::serialize(out) << "\n";
  };
  if (command == "show") {
    auto ev = store.read_event(position);
    if (!ev) {
      std::cerr << "billow: no event at position " << position << "\n";
      return 1;
    }
    print(*ev);
    return 0;
  }
  if (command == "tail") {
    auto last = store.last_position();
    auto from = last > count ? last - count + 1 : 1;
    auto evs = store.read_all(from, count);
    if (!evs) {
      std::cerr << "billow: " << billow::detail_of(evs.error()) << "\n";
      return 1;
    }
    for (const auto& ev : *evs)
      print(ev);
    return 0;
  }
  for (size_t printed = 0; printed < count;) {
    q.limit = std::min<size_t>(1000, count - printed);
    auto page = store.query(q);
    if (!page) {
      std::cerr << "billow: " << billow::detail_of(page.error()) << "\n";
      return 1;
    }
    for (const auto& ev : page->events)
      print(ev);
    printed += page->events.size();
    if (!page->next_cursor)
      break;
    q.from_position = *page->next_cursor;
  }
  return 0;
}

/// `billow state STREAM [--at POSITION|TIME]`: an aggregate as it was.
int run_state(const std::filesystem::path& data_dir, const std::string& stream,
              const std::string& at_text) {
  billow::projections::point_in_log at;
  if (!at_text.empty()) {
    auto parsed = billow::api::parse_point_in_log(at_text);
    if (!parsed) {
      std::cerr << "billow: --at must be a log position or an RFC 3339 time\n";
      return 2;
    }
    at = *parsed;
  }
  auto dir = open_stopped_store(data_dir);
  if (!dir)
    return 1;
  auto& store = *dir->store;
  auto state = billow::projections::state_at(store, stream, at);
  if (!state) {
    std::cerr << "billow: " << billow::detail_of(state.error()) << "\n";
    return 1;
  }
  boost::json::value out = *state;
  billow::api::answer_filter{dir->vault.personal}.apply(out);
  std::cout << boost::json::serialize(out) << "\n";
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

/// The first line of stdin, for --password-stdin (no line break kept).
std::string password_from_stdin() {
  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

int run_admin_create(const std::filesystem::path& data_dir,
                     const std::string& email, std::string password,
                     bool password_stdin, const std::string& group) {
  if (password_stdin)
    password = password_from_stdin();
  if (password.empty()) {
    std::cerr << "billow: give --password or --password-stdin\n";
    return 2;
  }
  auto dir = open_stopped_store(data_dir);
  if (!dir)
    return 1;
  auto id = billow::api::create_admin(*dir, email, password, group);
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
  serve->add_option("--clock", flags.clock,
                    "system | manual: manual time moves only by POST "
                    "/api/v1/admin/clock/advance (env BILLOW_CLOCK)");
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

  std::optional<std::string> tool_data;
  // The operator tools work on a stopped server's data directory, or
  // through a running server's admin API with --server and a token.
  std::string server_url, server_token;
  auto add_server_options = [&](CLI::App* sub) {
    sub
      ->add_option("--server", server_url,
                   "A running server's base URL, e.g. http://127.0.0.1:8080 "
                   "(env BILLOW_SERVER); without it, the stopped data dir")
      ->envname("BILLOW_SERVER");
    sub
      ->add_option("--token", server_token,
                   "Admin bearer token for --server (env BILLOW_TOKEN; "
                   "`billow login` prints one)")
      ->envname("BILLOW_TOKEN");
  };
  auto* login = cli.add_subcommand(
    "login", "Print an admin bearer token from a running server");
  std::string login_email, login_password;
  bool login_password_stdin = false;
  login->add_option("--email", login_email, "Login email")->required();
  login->add_option("--password", login_password, "Password");
  login->add_flag("--password-stdin", login_password_stdin,
                  "Read the password from the first line of stdin");
  add_server_options(login);
  auto* verify = cli.add_subcommand("verify", "Walk the log's hash chain");
  verify->add_option("--data", tool_data, "Data directory (env BILLOW_DATA)");
  auto* state_cmd = cli.add_subcommand(
    "state", "An aggregate as it was at a position or time");
  std::string state_stream, state_at;
  state_cmd
    ->add_option("stream", state_stream, "Stream id, e.g. service-<uuid>")
    ->required();
  state_cmd->add_option("--at", state_at,
                        "Log position or RFC 3339 time (default: now)");
  state_cmd->add_option("--data", tool_data,
                        "Data directory (env BILLOW_DATA)");
  auto* events_cmd
    = cli.add_subcommand("events", "Read the log, one JSON line per event");
  events_cmd->require_subcommand(1);
  billow::cli::events_request events_req;
  auto* events_q = events_cmd->add_subcommand("query",
                                              "Filtered events, JSON lines");
  events_q->add_option("--type", events_req.type, "Exact event type");
  events_q->add_option("--stream-prefix", events_req.stream_prefix,
                       "Stream id prefix (a whole stream id works too)");
  events_q->add_option("--actor", events_req.actor, "Exact actor");
  events_q->add_option("--correlation-id", events_req.correlation_id,
                       "Exact correlation id (UUID)");
  events_q->add_option("--from", events_req.from,
                       "Committed at or after this RFC 3339 time");
  events_q->add_option("--to", events_req.to,
                       "Committed before this RFC 3339 time");
  events_q->add_option("--after", events_req.after,
                       "Start after this position");
  events_q->add_option("--limit", events_req.count, "At most this many")
    ->capture_default_str();
  auto* events_show = events_cmd->add_subcommand("show",
                                                 "One event by position");
  events_show->add_option("position", events_req.position, "Log position")
    ->required();
  auto* events_tail = events_cmd->add_subcommand("tail", "The last events");
  events_tail->add_option("-n", events_req.count, "How many")
    ->capture_default_str();
  events_tail->add_flag("-f,--follow", events_req.follow,
                        "Then print events as they are committed (--server)");
  for (auto* sub : {events_q, events_show, events_tail})
    sub->add_option("--data", tool_data, "Data directory (env BILLOW_DATA)");
  for (auto* sub : {verify, state_cmd, events_q, events_show, events_tail})
    add_server_options(sub);

  auto* replay = cli.add_subcommand(
    "replay",
    "Rebuild a projection's read model from the whole log (stopped server)");
  std::string replay_name;
  std::string replay_names;
  for (const auto& n : billow::projections::known_projections())
    replay_names += (replay_names.empty() ? "" : ", ") + n;
  replay->add_option("projection", replay_name, "One of: " + replay_names)
    ->required();
  replay->add_option("--data", tool_data, "Data directory (env BILLOW_DATA)");

  auto* modules = cli.add_subcommand("modules",
                                     "List, activate and deactivate modules");
  modules->require_subcommand(1);
  std::optional<std::string> modules_data, modules_dir_flag;
  std::string module_type, module_name;
  bool modules_json = false;
  auto* modules_list = modules->add_subcommand("list",
                                               "Every discovered module");
  modules_list->add_flag("--json", modules_json, "One JSON array");
  auto* modules_activate = modules->add_subcommand("activate",
                                                   "Activate TYPE NAME");
  auto* modules_deactivate = modules->add_subcommand("deactivate",
                                                     "Deactivate TYPE NAME");
  for (auto* sub : {modules_activate, modules_deactivate}) {
    sub
      ->add_option("type", module_type,
                   "Product, Plugin, Payment, Notification")
      ->required();
    sub->add_option("name", module_name, "The module's name")->required();
  }
  for (auto* sub : {modules_list, modules_activate, modules_deactivate}) {
    sub->add_option("--data", modules_data, "Data directory (env BILLOW_DATA)");
    sub->add_option("--modules-dir", modules_dir_flag,
                    "Modules directory (env BILLOW_MODULES_DIR)");
  }

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
  events_req.command = *events_q ? "query" : *events_show ? "show" : "tail";
  if (*login) {
    if (server_url.empty()) {
      std::cerr << "billow: login needs --server (or BILLOW_SERVER)\n";
      return 2;
    }
    if (login_password_stdin)
      login_password = password_from_stdin();
    return billow::cli::remote_login(billow::cli::remote{server_url, ""},
                                     login_email, login_password);
  }
  if ((*verify || *events_cmd || *state_cmd) && !server_url.empty()) {
    if (server_token.empty()) {
      std::cerr << "billow: --server needs an admin token: --token or "
                   "BILLOW_TOKEN (`billow login` prints one)\n";
      return 2;
    }
    billow::cli::remote server{server_url, server_token};
    if (*verify)
      return billow::cli::remote_verify(server);
    if (*state_cmd)
      return billow::cli::remote_state(server, state_stream, state_at);
    return billow::cli::remote_events(server, events_req);
  }
  if (*verify || *events_cmd || *state_cmd || *replay) {
    auto data = resolve_data_dir(tool_data, config_path, false);
    if (!data)
      return 2;
    if (*replay)
      return run_replay(*data, replay_name);
    if (*verify)
      return run_verify(*data);
    if (*state_cmd)
      return run_state(*data, state_stream, state_at);
    return run_events(*data, events_req);
  }
  if (*modules) {
    auto data = resolve_data_dir(modules_data, config_path, false);
    if (!data)
      return 2;
    auto env = billow::cli::load_env_settings();
    auto dir = modules_dir_flag ? std::filesystem::path{*modules_dir_flag}
      : env.modules_dir         ? std::filesystem::path{*env.modules_dir}
                                : builtin_modules_dir();
    auto command = *modules_list ? "list"
      : *modules_activate        ? "activate"
                                 : "deactivate";
    return run_modules(*data, dir, command, module_type, module_name,
                       modules_json);
  }
  return run_serve(std::move(flags), config_path, config_opt->count() > 0);
}
