// HTTP figures: Billow's /healthz (through the front actor) against a minimal
// Beast server that answers the same bytes from memory, with the same client,
// connection count and I/O thread count, in the same run.

#include <algorithm>
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "api/application.hpp"
#include "bench/http_load.hpp"
#include "bench/report.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  auto filter = billow::bench::filter_from_args(argc, argv);
  if (!billow::bench::selected("http_healthz_rps", filter))
    return 0;
  spdlog::set_level(spdlog::level::warn);
  constexpr std::size_t connections = 32;
  constexpr uint64_t max_requests = 2'000'000;
  constexpr auto round_time = 2s;
  constexpr int rounds = 3;

  auto data = std::filesystem::temp_directory_path() / "billow-bench-http";
  billow::api::application_options opts;
  opts.http.port = 0;
  opts.http.io_threads = 1;
  opts.data_dir = data;
  billow::api::application app{opts};
  if (app.start()) {
    std::cerr << "bench_http: billow did not start\n";
    return 1;
  }
  billow::bench::minimal_http_server minimal{opts.http.io_threads};

  // Alternate the two servers and keep each one's best round, so a burst of
  // noise on this shared machine hits both alike.
  double billow_best = 0, minimal_best = 0;
  uint64_t errors = 0;
  for (int i = 0; i < rounds; ++i) {
    auto b = billow::bench::run_http_load(app.port(), "/healthz", connections,
                                          1, max_requests, round_time);
    auto m = billow::bench::run_http_load(
      minimal.port(), "/healthz", connections, 1, max_requests, round_time);
    billow_best = std::max(billow_best, b.rps());
    minimal_best = std::max(minimal_best, m.rps());
    errors += b.errors + m.errors;
  }
  app.shutdown();
  app.wait();
  std::filesystem::remove_all(data);
  billow::bench::print({"http_healthz_rps",
                        billow_best,
                        "requests/s",
                        "minimal_beast_server_rps",
                        minimal_best,
                        {{"connections", static_cast<double>(connections)},
                         {"errors", static_cast<double>(errors)}}});
  return errors == 0 ? 0 : 1;
}
