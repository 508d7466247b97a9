#include "cli/settings.hpp"

#include <charconv>
#include <cstdlib>
#include <set>

#include <toml++/toml.h>

#include "events/errc.hpp"

namespace billow::cli {

namespace {

caf::error invalid(std::string what) {
  return make_error(billow_errc::invalid_argument, std::move(what));
}

template <class T>
void fill(std::optional<T>& mine, const std::optional<T>& lower) {
  if (!mine && lower)
    mine = lower;
}

} // namespace

void settings_layer::fill_from(const settings_layer& lower) {
  fill(listen, lower.listen);
  fill(data_dir, lower.data_dir);
  fill(modules_dir, lower.modules_dir);
  fill(clock, lower.clock);
  fill(log_level, lower.log_level);
  fill(log_format, lower.log_format);
  fill(body_limit, lower.body_limit);
  fill(header_timeout_ms, lower.header_timeout_ms);
  fill(idle_timeout_ms, lower.idle_timeout_ms);
  fill(shutdown_timeout_ms, lower.shutdown_timeout_ms);
  fill(io_threads, lower.io_threads);
  fill(scheduler_threads, lower.scheduler_threads);
}

caf::expected<settings_layer> load_toml_settings(const std::string& path) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return invalid(path + ": " + std::string{e.description()} + " at line "
                   + std::to_string(e.source().begin.line));
  }
  settings_layer out;
  caf::error err;
  auto text = [&](const toml::node_view<toml::node>& node,
                  const std::string& key, std::optional<std::string>& dst) {
    if (!node)
      return;
    if (auto v = node.value<std::string>())
      dst = *v;
    else if (!err)
      err = invalid(path + ": " + key + " must be a string");
  };
  auto number = [&](const toml::node_view<toml::node>& node,
                    const std::string& key, std::optional<long long>& dst) {
    if (!node)
      return;
    if (node.is_integer())
      dst = node.value<long long>();
    else if (!err)
      err = invalid(path + ": " + key + " must be an integer");
  };
  text(doc["listen"], "listen", out.listen);
  text(doc["data"], "data", out.data_dir);
  text(doc["modules"]["dir"], "modules.dir", out.modules_dir);
  text(doc["actors"]["clock"], "actors.clock", out.clock);
  text(doc["log"]["level"], "log.level", out.log_level);
  text(doc["log"]["format"], "log.format", out.log_format);
  number(doc["http"]["body_limit"], "http.body_limit", out.body_limit);
  number(doc["http"]["header_timeout_ms"], "http.header_timeout_ms",
         out.header_timeout_ms);
  number(doc["http"]["idle_timeout_ms"], "http.idle_timeout_ms",
         out.idle_timeout_ms);
  number(doc["http"]["shutdown_timeout_ms"], "http.shutdown_timeout_ms",
         out.shutdown_timeout_ms);
  number(doc["http"]["io_threads"], "http.io_threads", out.io_threads);
  number(doc["actors"]["scheduler_threads"], "actors.scheduler_threads",
         out.scheduler_threads);
  if (err)
    return err;
  // Unknown keys are refused: a typo must not silently fall back to a default.
  static const std::set<std::string> known{"listen",
                                           "data",
                                           "modules.dir",
                                           "log.level",
                                           "log.format",
                                           "http.body_limit",
                                           "http.header_timeout_ms",
                                           "http.idle_timeout_ms",
                                           "http.shutdown_timeout_ms",
                                           "http.io_threads",
                                           "actors.scheduler_threads",
                                           "actors.clock"};
  static const std::set<std::string> tables{"log", "http", "actors", "modules"};
  for (const auto& [key, node] : doc) {
    std::string name{key.str()};
    if (auto* tbl = node.as_table(); tbl && tables.count(name)) {
      for (const auto& [sub, subnode] : *tbl) {
        auto full = name + "." + std::string{sub.str()};
        if (!known.count(full))
          return invalid(path + ": unknown setting " + full);
      }
    } else if (!known.count(name)) {
      return invalid(path + ": unknown setting " + name);
    }
  }
  return out;
}

settings_layer load_env_settings() {
  auto text = [](const char* name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0')
      return std::string{v};
    return std::nullopt;
  };
  settings_layer out;
  out.listen = text("BILLOW_LISTEN");
  out.data_dir = text("BILLOW_DATA");
  out.modules_dir = text("BILLOW_MODULES_DIR");
  out.clock = text("BILLOW_CLOCK");
  out.log_level = text("BILLOW_LOG_LEVEL");
  out.log_format = text("BILLOW_LOG_FORMAT");
  // Numbers from the environment are validated in resolve_settings: a value
  // that does not parse is kept as -1, which fails validation with its name.
  auto number = [&](const char* name) -> std::optional<long long> {
    auto v = text(name);
    if (!v)
      return std::nullopt;
    long long n = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || ptr != v->data() + v->size())
      return -1;
    return n;
  };
  out.body_limit = number("BILLOW_BODY_LIMIT");
  out.io_threads = number("BILLOW_IO_THREADS");
  out.scheduler_threads = number("BILLOW_SCHEDULER_THREADS");
  return out;
}

caf::expected<std::pair<std::string, uint16_t>>
parse_listen(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return invalid("listen address must be host:port, got '" + text + "'");
  auto host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(),
                                   port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || ptr != port_text.data() + port_text.size()
      || port > 65535)
    return invalid("listen port must be a number from 0 to 65535, got '"
                   + port_text + "'");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

caf::expected<serve_settings> resolve_settings(const settings_layer& merged) {
  serve_settings out;
  auto& app = out.app;
  if (merged.listen) {
    auto hp = parse_listen(*merged.listen);
    if (!hp)
      return hp.error();
    app.http.host = hp->first;
    app.http.port = hp->second;
  }
  if (merged.data_dir)
    app.data_dir = *merged.data_dir;
  if (merged.modules_dir)
    app.modules_dir = *merged.modules_dir;
  if (merged.clock) {
    auto kind = actors::parse_clock_kind(*merged.clock);
    if (!kind)
      return invalid("clock must be system or manual, got '" + *merged.clock
                     + "'");
    app.clock = *kind;
  }
  if (merged.log_level) {
    static const std::set<std::string> levels{"trace", "debug", "info",
                                              "warn",  "error", "off"};
    if (!levels.count(*merged.log_level))
      return invalid(
        "log level must be one of trace, debug, info, warn, error, "
        "off; got '"
        + *merged.log_level + "'");
    out.log_level = *merged.log_level;
  }
  if (merged.log_format) {
    if (*merged.log_format == "json")
      out.format = log_format::json;
    else if (*merged.log_format != "text")
      return invalid("log format must be text or json, got '"
                     + *merged.log_format + "'");
  }
  auto positive = [](const std::optional<long long>& v, const char* name,
                     long long max) -> caf::error {
    if (v && (*v <= 0 || *v > max))
      return invalid(std::string{name} + " must be between 1 and "
                     + std::to_string(max));
    return caf::none;
  };
  constexpr long long day_ms = 24LL * 3600 * 1000;
  if (auto err = positive(merged.body_limit, "body limit", 1LL << 32))
    return err;
  if (auto err = positive(merged.header_timeout_ms, "header timeout (ms)",
                          day_ms))
    return err;
  if (auto err = positive(merged.idle_timeout_ms, "idle timeout (ms)", day_ms))
    return err;
  if (auto err = positive(merged.shutdown_timeout_ms, "shutdown timeout (ms)",
                          day_ms))
    return err;
  if (auto err = positive(merged.io_threads, "io threads", 256))
    return err;
  if (auto err = positive(merged.scheduler_threads, "scheduler threads", 256))
    return err;
  if (merged.body_limit)
    app.http.body_limit = static_cast<std::size_t>(*merged.body_limit);
  if (merged.header_timeout_ms)
    app.http.header_timeout
      = std::chrono::milliseconds{*merged.header_timeout_ms};
  if (merged.idle_timeout_ms)
    app.http.idle_timeout = std::chrono::milliseconds{*merged.idle_timeout_ms};
  if (merged.shutdown_timeout_ms)
    app.http.shutdown_timeout
      = std::chrono::milliseconds{*merged.shutdown_timeout_ms};
  if (merged.io_threads)
    app.http.io_threads = static_cast<std::size_t>(*merged.io_threads);
  if (merged.scheduler_threads)
    app.runtime.scheduler_threads
      = static_cast<std::size_t>(*merged.scheduler_threads);
  return out;
}

} // namespace billow::cli
