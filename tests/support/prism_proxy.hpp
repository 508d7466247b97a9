#pragma once

#include <filesystem>
#include <string>

#include <sys/types.h>

namespace billow::test {

/// Stoplight's Prism (`@stoplight/prism-cli` from npm, installed by
/// scripts/setup into .tools/) as a validating proxy on a free loopback
/// port: `prism proxy <document> http://127.0.0.1:<upstream> --errors`.
/// Every request and answer that does not match the OpenAPI document is
/// answered by Prism itself with a problem whose `type` names
/// stoplight.io/prism/errors, so a test that sees none went by the contract.
class prism_proxy {
public:
  /// Starts Prism (`tools`: the node_modules directory) on `document` in
  /// front of `upstream_port`; throws std::runtime_error if it is not
  /// listening within 30 s.
  prism_proxy(const std::filesystem::path& tools,
              const std::filesystem::path& document, int upstream_port);
  ~prism_proxy();
  prism_proxy(const prism_proxy&) = delete;
  prism_proxy& operator=(const prism_proxy&) = delete;

  int port() const noexcept {
    return port_;
  }

  /// Prism's output so far (what it logged of each request).
  std::string log() const;

  /// True when `body` is Prism's own answer: the request or the answer
  /// broke the contract.
  static bool is_violation(const std::string& body);

private:
  std::filesystem::path log_;
  int port_ = 0;
  pid_t pid_ = -1;
};

} // namespace billow::test
