#include "cli/logging.hpp"

#include "api/json_body.hpp"

#include <chrono>

#include <boost/json.hpp>
#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace billow::cli {

namespace {

/// Formats each record as one JSON line; the message is escaped properly,
/// which spdlog's pattern formatter cannot do.
class json_formatter : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                msg.time.time_since_epoch())
                .count();
    boost::json::object line;
    line["time"] = api::rfc3339(us);
    auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string_view{level.data(), level.size()};
    line["logger"] = std::string_view{msg.logger_name.data(),
                                      msg.logger_name.size()};
    line["msg"] = std::string_view{msg.payload.data(), msg.payload.size()};
    auto text = boost::json::serialize(line);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

} // namespace

void setup_logging(const std::string& level, log_format format) {
  std::shared_ptr<spdlog::logger> logger;
  if (format == log_format::json) {
    logger = spdlog::stderr_logger_mt("billow");
    logger->set_formatter(std::make_unique<json_formatter>());
  } else {
    logger = spdlog::stderr_color_mt("billow");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

} // namespace billow::cli
