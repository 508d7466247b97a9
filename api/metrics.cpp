#include "api/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace billow::api {

struct http_metrics::impl {
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& latency;
  prometheus::Gauge& connections;
  prometheus::Family<prometheus::Counter>& accept_failures;
  /// The accept failures' series, all made up front: a dashboard sees 0
  /// before the first failure, and counting takes no lock.
  std::array<std::pair<std::string_view, prometheus::Counter*>, 5>
    accept_failure_series{};
  /// Buckets from 50 us to 10 s: health checks are microseconds, commands
  /// wait for an fsync, module calls may take seconds.
  prometheus::Histogram::BucketBoundaries buckets{
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  /// Series lookups are cached: prometheus-cpp's Family::Add hashes labels
  /// under a lock; the cache keeps the hot path to one map probe.
  std::mutex mtx;
  std::unordered_map<std::string,
                     std::pair<prometheus::Counter*, prometheus::Histogram*>>
    series;

  explicit impl(prometheus::Registry& reg)
    : requests(prometheus::BuildCounter()
                 .Name("billow_http_requests_total")
                 .Help("HTTP requests answered, by method, route and status")
                 .Register(reg)),
      latency(
        prometheus::BuildHistogram()
          .Name("billow_http_request_duration_seconds")
          .Help("Time from a request's last byte read to its response written")
          .Register(reg)),
      connections(prometheus::BuildGauge()
                    .Name("billow_http_connections")
                    .Help("HTTP connections open")
                    .Register(reg)
                    .Add({})),
      accept_failures(prometheus::BuildCounter()
                        .Name("billow_http_accept_failures_total")
                        .Help("Accepts of new HTTP connections that failed, by "
                              "reason (emfile, enfile: out of descriptors)")
                        .Register(reg)) {
    std::size_t i = 0;
    for (std::string_view reason :
         {"emfile", "enfile", "enomem", "aborted", "other"})
      accept_failure_series[i++]
        = {reason, &accept_failures.Add({{"reason", std::string{reason}}})};
  }
};

http_metrics::http_metrics(
  const std::shared_ptr<prometheus::Registry>& registry)
  : impl_(std::make_unique<impl>(*registry)) {
  // The registry outlives us: the caller keeps it for /metrics.
}

http_metrics::~http_metrics() = default;

void http_metrics::observe(const std::string& method, const std::string& route,
                           unsigned status, std::chrono::nanoseconds latency) {
  auto status_text = std::to_string(status);
  std::pair<prometheus::Counter*, prometheus::Histogram*> s;
  {
    std::lock_guard guard{impl_->mtx};
    auto key = method + ' ' + route + ' ' + status_text;
    auto i = impl_->series.find(key);
    if (i == impl_->series.end()) {
      auto* counter = &impl_->requests.Add(
        {{"method", method}, {"route", route}, {"status", status_text}});
      auto* hist = &impl_->latency.Add({{"route", route}}, impl_->buckets);
      i = impl_->series.emplace(std::move(key), std::make_pair(counter, hist))
            .first;
    }
    s = i->second;
  }
  s.first->Increment();
  s.second->Observe(std::chrono::duration<double>(latency).count());
}

void http_metrics::connection_opened() {
  impl_->connections.Increment();
}

void http_metrics::connection_closed() {
  impl_->connections.Decrement();
}

void http_metrics::accept_failed(std::string_view reason) {
  for (auto& [name, counter] : impl_->accept_failure_series)
    if (name == reason)
      return counter->Increment();
  impl_->accept_failure_series.back().second->Increment(); // other
}

namespace {

/// Reads the process figures Prometheus's client libraries conventionally
/// export (prometheus-cpp has no process collector of its own).
class process_collector : public prometheus::Collectable {
public:
  process_collector() {
    // Process start time: boot time + starttime ticks.
    std::ifstream stat{"/proc/self/stat"};
    std::string content((std::istreambuf_iterator<char>(stat)), {});
    auto fields = stat_fields(content);
    double boot_time = 0;
    std::ifstream kstat{"/proc/stat"};
    for (std::string line; std::getline(kstat, line);)
      if (line.rfind("btime ", 0) == 0)
        boot_time = std::stod(line.substr(6));
    if (fields.size() > 19)
      start_time_ = boot_time + std::stod(fields[19]) / ticks_;
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::ifstream stat{"/proc/self/stat"};
    std::string content((std::istreambuf_iterator<char>(stat)), {});
    auto fields = stat_fields(content);
    double cpu = 0, threads = 0, rss_pages = 0, vsize = 0;
    if (fields.size() > 21) {
      cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks_;
      threads = std::stod(fields[17]);
      vsize = std::stod(fields[20]);
      rss_pages = std::stod(fields[21]);
    }
    std::vector<prometheus::MetricFamily> out;
    out.push_back(family("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.",
                         prometheus::MetricType::Counter, cpu));
    out.push_back(family("process_resident_memory_bytes",
                         "Resident memory size in bytes.",
                         prometheus::MetricType::Gauge,
                         rss_pages * static_cast<double>(page_size_)));
    out.push_back(family("process_virtual_memory_bytes",
                         "Virtual memory size in bytes.",
                         prometheus::MetricType::Gauge, vsize));
    out.push_back(family("process_open_fds", "Number of open file descriptors.",
                         prometheus::MetricType::Gauge, open_fds()));
    out.push_back(family("process_threads", "Number of OS threads.",
                         prometheus::MetricType::Gauge, threads));
    out.push_back(
      family("process_start_time_seconds",
             "Start time of the process since the Unix epoch in seconds.",
             prometheus::MetricType::Gauge, start_time_));
    return out;
  }

private:
  /// The fields of /proc/self/stat after the command name, numbered as in
  /// proc(5) minus 3 (field 3, `state`, is index 0).
  static std::vector<std::string> stat_fields(const std::string& content) {
    std::vector<std::string> out;
    auto close = content.rfind(')');
    if (close == std::string::npos)
      return out;
    std::istringstream in{content.substr(close + 2)};
    for (std::string field; in >> field;)
      out.push_back(field);
    return out;
  }

  static double open_fds() {
    double count = 0;
    if (auto* dir = opendir("/proc/self/fd")) {
      while (auto* entry = readdir(dir))
        if (entry->d_name[0] != '.')
          ++count;
      closedir(dir);
      --count; // the descriptor opendir itself holds
    }
    return count;
  }

  static prometheus::MetricFamily family(std::string name, std::string help,
                                         prometheus::MetricType type,
                                         double value) {
    prometheus::MetricFamily fam;
    fam.name = std::move(name);
    fam.help = std::move(help);
    fam.type = type;
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter)
      metric.counter.value = value;
    else
      metric.gauge.value = value;
    fam.metric.push_back(std::move(metric));
    return fam;
  }

  double ticks_ = static_cast<double>(sysconf(_SC_CLK_TCK));
  long page_size_ = sysconf(_SC_PAGESIZE);
  double start_time_ = 0;
};

} // namespace

std::string render_metrics(prometheus::Registry& registry) {
  prometheus::TextSerializer serializer;
  std::ostringstream out;
  auto families = registry.Collect();
  static const process_collector process;
  for (auto& fam : process.Collect())
    families.push_back(std::move(fam));
  serializer.Serialize(out, families);
  return out.str();
}

} // namespace billow::api
