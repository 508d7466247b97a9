#pragma once

// One JSON line per figure, the format `make bench` promises:
//   {"name", "value", "unit", "baseline", "baseline_value", "ratio", ...extra}
// `ratio` compares the figure with its baseline measured in the same run, so
// that noise on a shared machine cancels out: for units where more is better
// (events/s, requests/s) it is value / baseline_value; for latencies (us, ms)
// it is baseline_value / value. Either way, a ratio above 1 beats the baseline.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace billow::bench {

/// One measured figure and, optionally, its side-by-side baseline.
struct figure {
  std::string name;
  double value = 0;
  std::string unit;
  std::optional<std::string> baseline;
  std::optional<double> baseline_value;
  /// Extra numeric fields for the line, e.g. {"p50_us", 12.5}.
  std::vector<std::pair<std::string, double>> extra = {};
};

/// True for units where a smaller value is better (latencies).
bool lower_is_better(std::string_view unit);

/// Prints `f` as one JSON line on stdout and flushes.
void print(const figure& f);

/// Parses `--filter PREFIX` (or `--filter=PREFIX`) from the command line;
/// empty when absent.
std::string filter_from_args(int argc, char** argv);

/// CPU time (user + system) process `pid` has used so far, in seconds, from
/// /proc/<pid>/stat; `pid` 0 means this process.
double process_cpu_seconds(int pid = 0);

/// True when the figure `name` is selected by `filter`: a name prefix, or
/// with a trailing `$` the exact name (to run one figure alone, e.g. under
/// a profiler).
inline bool selected(std::string_view name, std::string_view filter) {
  if (!filter.empty() && filter.back() == '$')
    return name == filter.substr(0, filter.size() - 1);
  return name.substr(0, filter.size()) == filter;
}

} // namespace billow::bench
