#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

namespace billow::test {

/// A real SMTP server (Debian's python3-aiosmtpd, via
/// tests/support/smtp_sink.py) on a free loopback port; each received
/// message lands as a JSON file (envelope, headers, decoded body).
class smtp_server {
public:
  /// Starts `python3 script`; throws std::runtime_error if it is not
  /// listening within 10 s.
  explicit smtp_server(const std::filesystem::path& script);
  ~smtp_server();
  smtp_server(const smtp_server&) = delete;
  smtp_server& operator=(const smtp_server&) = delete;

  int port() const noexcept {
    return port_;
  }

  /// The JSON text of each message received so far, in arrival order.
  std::vector<std::string> messages() const;

private:
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

} // namespace billow::test
