#include "modules/host/module_catalog.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "events/errc.hpp"
#include "modules/sdk/manifest.hpp"
#include "modules/sdk/module.hpp"
#include "modules/sdk/module_context.hpp"

namespace billow::modules {

namespace {

std::string text(const boost::json::object& obj, const char* key) {
  if (auto* v = obj.if_contains(key); v && v->is_string())
    return std::string{v->as_string()};
  return {};
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

/// An error as an operator reads it: its detail, or its code's name.
std::string describe(const caf::error& err) {
  auto detail = detail_of(err);
  return detail.empty() ? to_string(errc_of(err)) : detail;
}

void refresh_status(module_status& s, bool active, bool refused) {
  s.status = refused ? "refused" : active ? "active" : "inactive";
}

} // namespace

module_listener::~module_listener() = default;

caf::expected<void>
module_listener::run_lifecycle(const std::string&, const std::string&,
                               const std::shared_ptr<sdk::module>& instance,
                               const std::vector<sdk::lifecycle_step>& steps) {
  return sdk::run_lifecycle(*instance, steps);
}

boost::json::object to_json(const module_status& s) {
  return {
    {"type", s.type},
    {"name", s.name},
    {"version", s.version},
    {"description", s.description},
    {"author", s.author},
    {"status", s.status},
    {"recorded_version",
     s.recorded_version.empty() ? boost::json::value(nullptr)
                                : boost::json::value(s.recorded_version)},
    {"error",
     s.error.empty() ? boost::json::value(nullptr)
                     : boost::json::value(s.error)},
    {"stream_version", s.stream_version},
  };
}

module_catalog::module_catalog(const events::event_store& store,
                               append_fn append, std::filesystem::path root)
  : store_(store), append_(std::move(append)), root_(std::move(root)) {
  // nop
}

std::string module_catalog::stream_of(const std::string& type,
                                      const std::string& name) {
  return "module-" + lower(type) + "-" + lower(name);
}

void module_catalog::apply(entry& e, const std::string& type,
                           const boost::json::object& payload) {
  auto& s = e.status;
  if (type == "module.discovered") {
    e.refused = false;
    s.version = text(payload, "version");
    s.description = text(payload, "description");
    s.author = text(payload, "author");
  } else if (type == "module.refused") {
    e.refused = true;
    s.error = text(payload, "message");
  } else if (type == "module.activated") {
    e.active = true;
    s.recorded_version = text(payload, "version");
    s.error.clear();
  } else if (type == "module.updated") {
    s.recorded_version = text(payload, "to_version");
    s.error.clear();
  } else if (type == "module.activation_failed") {
    s.error = text(payload, "error");
  } else if (type == "module.configured") {
    if (auto* cfg = payload.if_contains("config"); cfg && cfg->is_object())
      e.config = cfg->as_object();
  } else if (type == "module.deactivated") {
    e.active = false;
  }
  refresh_status(s, e.active, e.refused);
}

void module_catalog::fold_recorded(entry& e) const {
  auto stream = stream_of(e.status.type, e.status.name);
  // The lifecycle events only, through the type index: the stream's log
  // lines can be many.
  std::vector<events::envelope> evs;
  for (const char* type :
       {"module.discovered", "module.refused", "module.activated",
        "module.updated", "module.activation_failed", "module.configured",
        "module.deactivated"}) {
    events::log_query q;
    q.type = type;
    q.stream_prefix = stream;
    q.limit = 1000;
    for (;;) {
      auto page = store_.query(q);
      if (!page)
        break;
      for (auto& ev : page->events)
        if (ev.stream == stream)
          evs.push_back(std::move(ev));
      if (!page->next_cursor)
        break;
      q.from_position = *page->next_cursor;
    }
  }
  std::sort(evs.begin(), evs.end(), [](const auto& a, const auto& b) {
    return a.position < b.position;
  });
  for (const auto& ev : evs) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(ev.payload, ec);
    if (!ec && doc.is_object())
      apply(e, ev.type, doc.as_object());
  }
  if (auto v = store_.stream_version(stream))
    e.status.stream_version = *v;
}

caf::error module_catalog::record(entry& e, const std::string& type,
                                  std::string payload,
                                  const std::string& actor) {
  events::new_event ev;
  ev.event_id = events::uuid::random();
  ev.type = type;
  ev.actor = actor;
  ev.payload = std::move(payload);
  auto stream = stream_of(e.status.type, e.status.name);
  std::vector<events::new_event> batch;
  batch.push_back(ev);
  // Any version: the module's log lines and hook failures share the stream.
  auto res = append_(stream, events::expected_version::any(), std::move(batch));
  if (!res)
    return std::move(res.error());
  e.status.stream_version = res->version;
  apply(e, type, boost::json::parse(ev.payload).as_object());
  return caf::none;
}

caf::expected<std::vector<module_status>>
module_catalog::scan(const std::string& actor) {
  std::lock_guard guard{mtx_};
  for (auto& found : sdk::scan_modules(root_)) {
    auto type = found.type_folder;
    auto name = found.folder_name;
    auto& e = entries_[{type, name}];
    e.status.type = type;
    e.status.name = name;
    e.active = false;
    e.refused = false;
    e.status.stream_version = 0;
    fold_recorded(e);
    e.loaded = std::move(found);
    if (e.loaded.refused) {
      const auto& why = *e.loaded.refused;
      if (!e.refused || e.status.error != why.message) {
        auto payload = boost::json::serialize(boost::json::object{
          {"reason", sdk::to_string(why.reason)}, {"message", why.message}});
        if (auto err = record(e, "module.refused", std::move(payload), actor))
          return err;
      }
      spdlog::warn("module {}/{} refused: {}", type, name, why.message);
      continue;
    }
    const auto& m = *e.loaded.manifest;
    if (e.status.stream_version == 0 || e.refused
        || e.status.version != m.version
        || e.status.description != m.description) {
      auto payload = boost::json::serialize(
        boost::json::object{{"version", m.version},
                            {"description", m.description},
                            {"author", m.author},
                            {"dir", e.loaded.dir.string()}});
      if (auto err = record(e, "module.discovered", std::move(payload), actor))
        return err;
    }
    // Every module gets a context before its first call.
    attach_context(e);
    if (e.active) {
      sdk::module_record rec{true,
                             e.status.recorded_version.empty()
                               ? std::nullopt
                               : std::optional{e.status.recorded_version}};
      auto steps = sdk::plan_lifecycle(rec, m.version,
                                       sdk::lifecycle_command::start);
      if (steps && !steps->empty()) {
        auto from = e.status.recorded_version;
        if (auto ran = run_steps(e, *steps); ran) {
          auto payload = boost::json::serialize(boost::json::object{
            {"from_version", from}, {"to_version", m.version}});
          if (auto err = record(e, "module.updated", std::move(payload), actor))
            return err;
        } else {
          auto payload = boost::json::serialize(boost::json::object{
            {"version", m.version}, {"error", describe(ran.error())}});
          if (auto err = record(e, "module.activation_failed",
                                std::move(payload), actor))
            return err;
        }
      }
      if (listener_)
        listener_->started(type, name, e.loaded.instance, false);
    }
  }
  std::vector<module_status> out;
  for (const auto& [key, e] : entries_)
    out.push_back(e.status);
  return out;
}

caf::expected<module_catalog::entry*>
module_catalog::loaded_entry(const std::string& type, const std::string& name) {
  auto i = entries_.find({type, name});
  if (i == entries_.end())
    return make_error(billow_errc::not_found,
                      "no module " + type + "/" + name + " was discovered");
  auto& e = i->second;
  if (e.refused || !e.loaded.loaded())
    return make_error(billow_errc::invalid_transition,
                      "module " + type + "/" + name
                        + " was refused: " + e.status.error);
  return &e;
}

void module_catalog::set_host_services(host_services services) {
  std::lock_guard guard{mtx_};
  services_ = std::move(services);
}

caf::expected<void>
module_catalog::run_steps(entry& e,
                          const std::vector<sdk::lifecycle_step>& steps) {
  if (listener_)
    return listener_->run_lifecycle(e.status.type, e.status.name,
                                    e.loaded.instance, steps);
  return sdk::run_lifecycle(*e.loaded.instance, steps);
}

void module_catalog::set_listener(std::shared_ptr<module_listener> listener) {
  std::lock_guard guard{mtx_};
  listener_ = std::move(listener);
}

void module_catalog::attach_context(entry& e) {
  if (!e.loaded.loaded())
    return;
  sdk::context_options ctx;
  ctx.manifest = *e.loaded.manifest;
  ctx.module_dir = e.loaded.dir;
  ctx.config = e.config;
  ctx.tasks = services_.tasks;
  ctx.secrets = services_.secrets;
  ctx.log = services_.logs;
  e.loaded.instance->attach(
    std::make_shared<sdk::module_context>(std::move(ctx)));
}

namespace {

/// Seals every string under a secret-looking key that is not sealed yet.
void seal_secrets(boost::json::value& v, const sdk::secret_box& box) {
  if (auto* obj = v.if_object()) {
    for (auto& [key, val] : *obj) {
      if (val.is_string() && sdk::looks_secret(key)) {
        std::string_view text = val.as_string();
        if (text.substr(0, sdk::secret_box::prefix.size())
            != sdk::secret_box::prefix)
          val = box.seal(text);
      } else {
        seal_secrets(val, box);
      }
    }
  } else if (auto* arr = v.if_array()) {
    for (auto& val : *arr)
      seal_secrets(val, box);
  }
}

} // namespace

caf::expected<module_status>
module_catalog::configure(const std::string& type, const std::string& name,
                          boost::json::object config,
                          const std::string& actor) {
  std::lock_guard guard{mtx_};
  auto found = loaded_entry(type, name);
  if (!found)
    return std::move(found.error());
  auto& e = **found;
  if (!services_.secrets)
    return make_error(billow_errc::unavailable, "no sealing key is configured");
  boost::json::value sealed = std::move(config);
  seal_secrets(sealed, *services_.secrets);
  auto payload
    = boost::json::serialize(boost::json::object{{"config", sealed}});
  if (auto err = record(e, "module.configured", std::move(payload), actor))
    return err;
  attach_context(e);
  return e.status;
}

std::vector<module_status> module_catalog::list() const {
  std::lock_guard guard{mtx_};
  std::vector<module_status> out;
  for (const auto& [key, e] : entries_)
    out.push_back(e.status);
  return out;
}

caf::expected<boost::json::object>
module_catalog::config(const std::string& type, const std::string& name) const {
  std::lock_guard guard{mtx_};
  auto i = entries_.find({type, name});
  if (i == entries_.end())
    return make_error(billow_errc::not_found, "no module " + type + "/" + name);
  return i->second.config;
}

caf::expected<module_status>
module_catalog::run(const std::string& type, const std::string& name,
                    sdk::lifecycle_command command, const std::string& actor) {
  std::lock_guard guard{mtx_};
  auto found = loaded_entry(type, name);
  if (!found)
    return std::move(found.error());
  auto& e = **found;
  const auto& version = e.loaded.manifest->version;
  sdk::module_record rec{e.active,
                         e.status.recorded_version.empty()
                           ? std::nullopt
                           : std::optional{e.status.recorded_version}};
  auto steps = sdk::plan_lifecycle(rec, version, command);
  if (!steps)
    return std::move(steps.error());
  if (steps->empty())
    return e.status; // already in the asked state: idempotent
  auto ran = run_steps(e, *steps);
  if (!ran) {
    auto payload = boost::json::serialize(boost::json::object{
      {"version", version}, {"error", describe(ran.error())}});
    if (auto err = record(e, "module.activation_failed", std::move(payload),
                          actor))
      return err;
    if (listener_ && !e.active)
      listener_->stopped(type, name);
    return make_error(billow_errc::module_failure,
                      "module " + type + "/" + name
                        + " failed: " + describe(ran.error()));
  }
  auto kind = command == sdk::lifecycle_command::deactivate
    ? "module.deactivated"
    : "module.activated";
  auto payload
    = boost::json::serialize(boost::json::object{{"version", version}});
  if (auto err = record(e, kind, std::move(payload), actor))
    return err;
  if (listener_) {
    if (e.active)
      listener_->started(type, name, e.loaded.instance, true);
    else
      listener_->stopped(type, name);
  }
  return e.status;
}

caf::expected<module_status>
module_catalog::activate(const std::string& type, const std::string& name,
                         const std::string& actor) {
  return run(type, name, sdk::lifecycle_command::activate, actor);
}

caf::expected<module_status> module_catalog::update(const std::string& type,
                                                    const std::string& name,
                                                    const std::string& actor) {
  std::lock_guard guard{mtx_};
  auto found = loaded_entry(type, name);
  if (!found)
    return std::move(found.error());
  auto& e = **found;
  const auto& version = e.loaded.manifest->version;
  const auto from = e.status.recorded_version;
  if (from.empty())
    return make_error(billow_errc::invalid_transition,
                      "module " + type + "/" + name
                        + " never ran activate(): activate it instead");
  // Planned as for an active module at start: update() alone, if newer.
  auto steps = sdk::plan_lifecycle(sdk::module_record{true, from}, version,
                                   sdk::lifecycle_command::start);
  if (!steps)
    return std::move(steps.error());
  if (steps->empty())
    return make_error(billow_errc::invalid_transition,
                      "nothing to update: module " + type + "/" + name
                        + " is at version " + from + ", as its module.json");
  auto ran = sdk::run_lifecycle(*e.loaded.instance, *steps);
  if (!ran) {
    auto payload = boost::json::serialize(boost::json::object{
      {"version", version}, {"error", describe(ran.error())}});
    if (auto err = record(e, "module.activation_failed", std::move(payload),
                          actor))
      return err;
    return make_error(billow_errc::module_failure,
                      "module " + type + "/" + name
                        + " update failed: " + describe(ran.error()));
  }
  auto payload = boost::json::serialize(
    boost::json::object{{"from_version", from}, {"to_version", version}});
  if (auto err = record(e, "module.updated", std::move(payload), actor))
    return err;
  return e.status;
}

caf::expected<module_status>
module_catalog::deactivate(const std::string& type, const std::string& name,
                           const std::string& actor) {
  return run(type, name, sdk::lifecycle_command::deactivate, actor);
}

std::shared_ptr<sdk::module>
module_catalog::active_instance(const std::string& type,
                                const std::string& name) const {
  std::lock_guard guard{mtx_};
  auto i = entries_.find({type, name});
  if (i == entries_.end() || !i->second.active)
    return nullptr;
  return i->second.loaded.instance;
}

} // namespace billow::modules
