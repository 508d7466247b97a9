#pragma once

// The Prometheus side of the HTTP front: request counters and latency
// histograms by route, process figures, and the text exposition of a registry.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
} // namespace prometheus

namespace billow::api {

/// Records per-request figures into a registry. Thread-safe.
class http_metrics {
public:
  explicit http_metrics(const std::shared_ptr<prometheus::Registry>& registry);
  ~http_metrics();

  http_metrics(const http_metrics&) = delete;
  http_metrics& operator=(const http_metrics&) = delete;

  /// Counts one answered request and observes its latency.
  void observe(const std::string& method, const std::string& route,
               unsigned status, std::chrono::nanoseconds latency);

  /// Connections open right now.
  void connection_opened();
  void connection_closed();

  /// Counts an accept that failed, by `reason` (`emfile`, `enfile`, `enomem`,
  /// `aborted`, `other`; see http_server.cpp).
  void accept_failed(std::string_view reason);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The Prometheus text exposition (format 0.0.4) of everything in `registry`
/// plus the `process_*` figures (CPU seconds, resident and virtual memory,
/// open file descriptors, threads, start time), read from /proc each time.
std::string render_metrics(prometheus::Registry& registry);

} // namespace billow::api
