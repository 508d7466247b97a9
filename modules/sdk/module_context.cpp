#include "modules/sdk/module_context.hpp"

#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "events/errc.hpp"

namespace billow::modules::sdk {

log_sink::~log_sink() = default;

task_queue::~task_queue() = default;

const char* to_string(log_level x) {
  switch (x) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::error: return "error";
  }
  return "unknown";
}

module_tasks::module_tasks(std::shared_ptr<task_queue> queue,
                           std::string module_type, std::string module_name)
  : queue_(std::move(queue)), module_type_(std::move(module_type)),
    module_name_(std::move(module_name)) {
  // nop
}

caf::expected<std::string>
module_tasks::add(std::string method, boost::json::object data,
                  std::vector<std::string> tags, job_options options) const {
  if (!queue_)
    return make_error(billow_errc::unavailable,
                      "module " + module_name_ + " has no task queue");
  if (method.empty())
    return make_error(billow_errc::invalid_argument, "job method is empty");
  if (options.tries < 1 || options.max_exceptions < 1
      || options.timeout.count() <= 0 || options.backoff.count() < 0)
    return make_error(billow_errc::invalid_argument,
                      "job options: tries and max_exceptions must be >= 1, "
                      "timeout > 0, backoff >= 0");
  task_request req{module_type_,    module_name_,    std::move(method),
                   std::move(data), std::move(tags), options};
  return queue_->add(std::move(req));
}

module_context::module_context(context_options opts)
  : opts_(std::move(opts)), views_(opts_.module_dir, opts_.lang) {
  // nop
}

boost::json::value module_context::config(std::string_view key) const {
  const boost::json::object* obj = &opts_.config;
  while (true) {
    auto dot = key.find('.');
    auto part = key.substr(0, dot);
    auto it = obj->find(part);
    if (it == obj->end())
      return nullptr;
    if (dot == std::string_view::npos)
      return it->value();
    if (!it->value().is_object())
      return nullptr;
    obj = &it->value().get_object();
    key.remove_prefix(dot + 1);
  }
}

void module_context::log(log_level level, std::string_view action,
                         std::string_view message,
                         boost::json::value data) const {
  auto type = std::string{to_string(opts_.manifest.type)};
  redact_secrets(data);
  auto spd = level == log_level::debug ? spdlog::level::debug
    : level == log_level::info         ? spdlog::level::info
                                       : spdlog::level::err;
  // The line is built only when spdlog keeps it: modules log on hot paths.
  if (spdlog::should_log(spd))
    spdlog::log(spd, "module {}/{} {}: {}{}{}", type, opts_.manifest.name,
                action, message, data.is_null() ? "" : " ",
                data.is_null() ? std::string{} : boost::json::serialize(data));
  if (opts_.log)
    opts_.log->write(log_record{std::move(type), opts_.manifest.name, level,
                                std::string{action}, std::string{message},
                                std::move(data)});
}

module_tasks module_context::tasks() const {
  return module_tasks{opts_.tasks, std::string{to_string(opts_.manifest.type)},
                      opts_.manifest.name};
}

caf::expected<std::string>
module_context::view(std::string_view template_name,
                     const boost::json::object& data) const {
  return views_.render(template_name, data);
}

caf::expected<std::string>
module_context::seal(std::string_view plaintext) const {
  if (!opts_.secrets)
    return make_error(billow_errc::unavailable,
                      "no secret key configured for sealing");
  return opts_.secrets->seal(plaintext);
}

caf::expected<std::string>
module_context::unseal(std::string_view sealed) const {
  if (!opts_.secrets)
    return make_error(billow_errc::unavailable,
                      "no secret key configured for unsealing");
  return opts_.secrets->unseal(sealed);
}

} // namespace billow::modules::sdk
