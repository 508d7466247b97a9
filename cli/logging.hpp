#pragma once

#include <string>

#include "cli/settings.hpp"

namespace billow::cli {

/// Sets up spdlog's default logger on stderr: human text, or one JSON object
/// per line (`time`, `level`, `logger`, `msg`) for log collectors.
void setup_logging(const std::string& level, log_format format);

} // namespace billow::cli
