// bench_api: the admin API under wrk (see bench/report.hpp for the line
// format).
//
//   api_get_service_rps        wrk, 64 keep-alive connections, GET
//                              /api/v1/admin/services/{id} with a bearer
//                              token, rotating over 64 services; baseline:
//                              the minimal Beast server answering the same
//                              body from memory, same wrk command, same run
//   api_suspend_unsuspend_rps  wrk, 64 connections alternating POST
//                              .../suspend and .../unsuspend on 512
//                              services of a product on a no-op module
//                              (bench/modules/noop), one command at a time
//                              per service, each answered once its events
//                              are durable, its module job running behind
//                              it; baseline: actor_command_roundtrip_c64
//                              from bench_actor, run between the wrk rounds
//                              (each side: its best round)
//   api_suspend_unsuspend_rps_no_module
//                              the same on 64 services of a product without
//                              a module (no jobs); baseline:
//                              actor_command_roundtrip_c64_no_module
//
// Billow runs as a real `billow serve` child process (a temporary data
// directory, a free loopback port, the no-op module's directory); the admin
// comes from `billow admin create` before it starts; the client, products and
// services are made over HTTP. Every wrk run is bounded by time (-d) and
// by requests (its Lua script stops each thread after its share). Non-2xx
// answers are counted and the first one's status is in the line;
// BENCH_API_VERBOSE=1 prints wrk's report and that answer's body.

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "bench/api_harness.hpp"
#include "bench/http_load.hpp"
#include "bench/report.hpp"

namespace json = boost::json;
namespace bench = billow::bench;
using bench::command_run;

namespace {

constexpr int services = 64;
constexpr int connections = bench::wrk_connections;
constexpr int rounds = 2;

/// GET /api/v1/admin/services/{id}, rotating over every id.
std::string get_script(const std::vector<std::string>& ids,
                       const std::string& token) {
  return bench::lua_common(ids, token) + R"lua(
function init(args)
  n = 0
  non2xx = 0
  reqs = {}
  for k, id in ipairs(ids) do
    reqs[k] = wrk.format("GET", "/api/v1/admin/services/" .. id,
                         {["Authorization"] = token})
  end
  i = offset * 17
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
function response(status, headers, body)
  count(status, body)
end
)lua";
}

class api_bench {
public:
  api_bench() : s_("bench-api") {
    std::string client;
    ids_ = s_.manual_services(services, &client);
    make_module_services(client);
    auto one = s_.get("/api/v1/admin/services/" + ids_[0]);
    if (one.status != 200
        || json::parse(one.body).at("status").as_string() != "active")
      throw std::runtime_error("service not active: " + one.body);
    service_body_ = one.body;
  }

  void get_service() {
    auto script = s_.file("get.lua");
    std::ofstream{script} << get_script(ids_, s_.token());
    bench::minimal_http_server minimal{1, service_body_};
    auto& server = s_.server();
    // Alternate the two and keep each one's best round, so a burst of noise
    // from the other processes here hits both alike.
    bench::wrk_result best, best_min;
    double non2xx = 0, errors = 0, first_bad = 0;
    double cpu = 0, served = 0;
    for (int r = 0; r < rounds; ++r) {
      auto c0 = server.cpu_seconds();
      auto b = bench::run_wrk(script, server.port());
      cpu += server.cpu_seconds() - c0;
      served += b.requests;
      auto m = bench::run_wrk(script, minimal.port());
      first_bad = std::max({first_bad, b.first_bad_status, m.first_bad_status});
      if (b.rps() > best.rps())
        best = b;
      if (m.rps() > best_min.rps())
        best_min = m;
      non2xx += b.non2xx + m.non2xx;
      errors += b.socket_errors + m.socket_errors;
    }
    bench::print({"api_get_service_rps",
                  best.rps(),
                  "requests/s",
                  "minimal_beast_server_rps",
                  best_min.rps(),
                  {{"p99_ms", best.p99_ms},
                   {"baseline_p99_ms", best_min.p99_ms},
                   {"cpu_us_per_request", cpu * 1e6 / served},
                   {"connections", connections},
                   {"body_bytes", static_cast<double>(service_body_.size())},
                   {"non2xx", non2xx},
                   {"socket_errors", errors}}});
  }

  void suspend_unsuspend() {
    // Rounds alternate: wrk on the services with a module, wrk on those
    // without, then the baselines from bench_actor (billow serve idles
    // meanwhile). Each side keeps its best round, so a burst of noise from
    // the other processes here hits both alike.
    command_run jobs, manual;
    double with_module = 0, no_module = 0;
    for (int r = 0; r < rounds; ++r) {
      s_.command_round(module_ids_, jobs);
      s_.command_round(ids_, manual);
      auto actor
        = bench::run_command((bench::exe_dir() / "bench_actor").string()
                             + " --filter actor_command_roundtrip_c64");
      auto without
        = bench::figure_value(actor, "actor_command_roundtrip_c64_no_module");
      auto with = bench::figure_value(actor, "actor_command_roundtrip_c64");
      if (!without || !with)
        throw std::runtime_error("bench_actor printed no baseline:\n" + actor);
      with_module = std::max(with_module, *with);
      no_module = std::max(no_module, *without);
    }
    auto line = [](const char* name, const command_run& c, const char* base,
                   double base_value) {
      bench::print({name,
                    c.best.rps(),
                    "requests/s",
                    base,
                    base_value,
                    {{"p99_ms", c.best.p99_ms},
                     {"cpu_us_per_request", c.cpu * 1e6 / c.served},
                     {"connections", connections},
                     {"non2xx", c.non2xx},
                     {"non2xx_status", c.first_bad},
                     {"socket_errors", c.errors}}});
    };
    // As the issue defines it: services whose commands queue module jobs,
    // against the actor runtime doing the same.
    line("api_suspend_unsuspend_rps", jobs, "actor_command_roundtrip_c64",
         with_module);
    // Without jobs: the HTTP front's cost on top of the bare runtime.
    line("api_suspend_unsuspend_rps_no_module", manual,
         "actor_command_roundtrip_c64_no_module", no_module);
  }

  void stop() {
    s_.stop();
  }

private:
  /// Services of a product on the no-op module: each command queues its
  /// module job, whose events share the writer, as in
  /// actor_command_roundtrip_c64; eight services a connection, so a
  /// service's job is done before its turn comes again (a command on a
  /// service whose job still runs is refused with 409, counted as non-2xx).
  void make_module_services(const std::string& client) {
    s_.post("/api/v1/admin/modules/Product/noop/activate", {}, 200);
    auto with_module = s_.post(
      "/api/v1/admin/products",
      {{"name", "No-op"},
       {"module", {{"type", "Product"}, {"name", "noop"}}},
       {"prices",
        json::array{
          {{"currency", "EUR"}, {"period", "monthly"}, {"amount", "5.00"}}}}},
      201);
    for (int i = 0; i < 8 * connections; ++i) {
      auto svc = s_.post("/api/v1/admin/services",
                         {{"client_id", client},
                          {"product_id", with_module.at("id")},
                          {"period", "monthly"},
                          {"provision", "now"}},
                         201);
      module_ids_.emplace_back(svc.at("id").as_string());
    }
    for (auto& id : module_ids_)
      s_.wait_settled(id);
  }

  bench::api_session s_;
  std::vector<std::string> ids_;
  /// Services of the no-op module's product.
  std::vector<std::string> module_ids_;
  std::string service_body_;
};

} // namespace

int main(int argc, char** argv) {
  auto filter = bench::filter_from_args(argc, argv);
  bool get = bench::selected("api_get_service_rps", filter);
  bool commands = bench::selected("api_suspend_unsuspend_rps", filter);
  if (!get && !commands)
    return 0;
  try {
    api_bench b;
    if (get)
      b.get_service();
    if (commands)
      b.suspend_unsuspend();
    b.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_api: %s\n", e.what());
    return 1;
  }
  return 0;
}
