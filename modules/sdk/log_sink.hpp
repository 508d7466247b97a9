#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace billow::modules::sdk {

/// How serious a module log line is (the seed's logInfo/logError/logDebug).
enum class log_level { debug, info, error };

/// `debug`, `info` or `error`.
const char* to_string(log_level x);

/// One line a module logged: the seed's `logInfo($action, $message, $data)`.
struct log_record {
  /// `Product`, `Plugin`, ...
  std::string module_type;
  std::string module_name;
  log_level level = log_level::info;
  /// What the module was doing, e.g. `create_job`.
  std::string action;
  std::string message;
  /// Structured context (request, response, ids); never a clear secret.
  boost::json::value data;
};

/// Where module log lines go besides spdlog. The integrator backs it with
/// module log events; tests back it with a vector.
///
/// Implementations must be thread-safe: module jobs run on several workers.
class log_sink {
public:
  virtual ~log_sink();

  /// Takes one record; must not throw.
  virtual void write(const log_record& record) noexcept = 0;
};

} // namespace billow::modules::sdk
