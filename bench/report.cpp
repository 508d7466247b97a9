#include "bench/report.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include <boost/json.hpp>

namespace billow::bench {

double process_cpu_seconds(int pid) {
  std::ifstream in{pid == 0 ? std::string{"/proc/self/stat"}
                            : "/proc/" + std::to_string(pid) + "/stat"};
  std::string stat{std::istreambuf_iterator<char>(in), {}};
  // The fields after the command name (which may hold spaces); utime and
  // stime are the 14th and 15th of the line.
  std::istringstream rest{stat.substr(stat.rfind(')') + 2)};
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14)
      ticks += std::stod(field);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

bool lower_is_better(std::string_view unit) {
  return unit == "us" || unit == "ms" || unit == "ns" || unit == "s";
}

void print(const figure& f) {
  boost::json::object line;
  line["name"] = f.name;
  line["value"] = f.value;
  line["unit"] = f.unit;
  line["baseline"] = f.baseline ? boost::json::value(*f.baseline) : nullptr;
  line["baseline_value"]
    = f.baseline_value ? boost::json::value(*f.baseline_value) : nullptr;
  if (f.baseline_value && *f.baseline_value > 0 && f.value > 0) {
    line["ratio"] = lower_is_better(f.unit) ? *f.baseline_value / f.value
                                            : f.value / *f.baseline_value;
  } else {
    line["ratio"] = nullptr;
  }
  for (const auto& [key, val] : f.extra)
    line[key] = val;
  std::cout << boost::json::serialize(line) << std::endl;
}

std::string filter_from_args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--filter" && i + 1 < argc)
      return argv[i + 1];
    if (arg.rfind("--filter=", 0) == 0)
      return std::string{arg.substr(9)};
  }
  return {};
}

} // namespace billow::bench
