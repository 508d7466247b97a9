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

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "bench/http_load.hpp"
#include "bench/report.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr int services = 64;
constexpr int connections = 64;
constexpr int wrk_threads = 2;
constexpr int wrk_seconds = 4;
constexpr int rounds = 2;
/// Per run, across threads: more than 4 s can answer here, so time bounds.
constexpr long max_requests = 2'000'000;

/// The directory of this executable (build/bench).
fs::path exe_dir() {
  return fs::read_symlink("/proc/self/exe").parent_path();
}

/// Runs `cmd` through the shell; its standard output, or throws.
std::string run(const std::string& cmd) {
  std::array<char, 4096> buf{};
  std::string out;
  auto* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr)
    throw std::runtime_error("cannot run " + cmd);
  while (auto n = std::fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  if (::pclose(p) != 0)
    throw std::runtime_error("failed: " + cmd + "\n" + out);
  return out;
}

/// A loopback port nobody listens on right now.
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

/// `billow serve` as a child process, stopped with SIGTERM (then SIGKILL).
class billow_server {
public:
  billow_server(const fs::path& billow, const fs::path& data,
                const fs::path& log, const fs::path& modules, uint16_t port)
    : port_(port) {
    auto listen = fmt::format("127.0.0.1:{}", port);
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      auto* f = std::freopen(log.c_str(), "w", stdout);
      static_cast<void>(f);
      ::dup2(::fileno(stdout), STDERR_FILENO);
      ::setenv("BILLOW_MODULES_DIR", modules.c_str(), 1);
      ::execl(billow.c_str(), "billow", "serve", "--listen", listen.c_str(),
              "--data", data.c_str(), "--log-level", "warn", nullptr);
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        if (billow::test::http_get(port_, "/readyz").status == 200)
          return;
      } catch (const std::exception&) {
        // not listening yet
      }
      std::this_thread::sleep_for(50ms);
    }
    stop();
    throw std::runtime_error("billow serve did not become ready; see "
                             + log.string());
  }

  ~billow_server() {
    stop();
  }

  billow_server(const billow_server&) = delete;
  billow_server& operator=(const billow_server&) = delete;

  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

  uint16_t port() const {
    return port_;
  }

  /// CPU seconds (user + system) the server used so far.
  double cpu_seconds() const {
    return billow::bench::process_cpu_seconds(pid_);
  }

private:
  uint16_t port_;
  pid_t pid_ = 0;
};

/// What one wrk run measured (from the script's `done`).
struct wrk_result {
  double requests = 0;
  double seconds = 0;
  double p99_ms = 0;
  double non2xx = 0;
  double socket_errors = 0;
  /// The status of the first non-2xx answer (0: none).
  double first_bad_status = 0;

  /// Requests answered with 2xx, a second: a refused command (409 while
  /// its service's job still runs) is not a command done, as bench_actor's
  /// baseline does not count its refused ones either.
  double rps() const {
    return seconds > 0 ? (requests - non2xx) / seconds : 0;
  }
};

/// The Lua shared by both scripts: per-thread request cap, non-2xx count,
/// and one result line from `done`.
std::string lua_common(const std::vector<std::string>& ids,
                       const std::string& token) {
  std::string out = "ids = {";
  for (auto& id : ids)
    out += "\"" + id + "\",";
  out += "}\n";
  out += fmt::format(R"lua(token = "{}"
limit = {}
local threads = {{}}
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  thread:set("nthreads", {})
  counter = counter + 1
  table.insert(threads, thread)
end
function count(status, body)
  n = n + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if firstbad == nil then
      firstbad = status
      if os.getenv("BENCH_API_VERBOSE") then
        io.stderr:write(string.format("first non-2xx after %d answers: %d %s\n", n, status, body))
      end
    end
  end
  if n >= limit then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local bad = 0
  local first = 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    if t:get("firstbad") then first = t:get("firstbad") end
  end
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %.1f %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(99.0), bad,
    e.connect + e.read + e.write + e.timeout, first))
end
)lua",
                     token, max_requests / wrk_threads, wrk_threads);
  return out;
}

/// GET /api/v1/admin/services/{id}, rotating over every id.
std::string get_script(const std::vector<std::string>& ids,
                       const std::string& token) {
  return lua_common(ids, token) + R"lua(
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

/// Suspend / unsuspend: each thread owns every nthreads-th service and
/// keeps a queue of its services with no command in flight; a command's
/// answer (which names its service) puts the service back. So no two
/// commands on one service overlap, and each alternates.
std::string command_script(const std::vector<std::string>& ids,
                           const std::vector<bool>& suspended,
                           const std::string& token) {
  std::string known = "was_suspended = {";
  for (bool x : suspended)
    known += x ? "true," : "false,";
  known += "}\n";
  return lua_common(ids, token) + known + R"lua(
function init(args)
  n = 0
  non2xx = 0
  starved = 0
  queue, first, last = {}, 1, 0
  suspended = {}
  mine = {}
  for k, id in ipairs(ids) do
    if (k - 1) % nthreads == offset then
      last = last + 1
      queue[last] = id
      suspended[id] = was_suspended[k]
      table.insert(mine, id)
    end
  end
  -- Every request this thread can send, formatted once: the client's own
  -- work per request stays small on the cores it shares with the server.
  local headers = {["Authorization"] = token,
                   ["Content-Type"] = "application/json"}
  reqs = {}
  for _, id in ipairs(mine) do
    reqs[id] = {}
    for _, op in ipairs({"suspend", "unsuspend"}) do
      reqs[id][op] = wrk.format("POST", "/api/v1/admin/services/" .. id
                                .. "/" .. op, headers, "{}")
    end
  end
end
function request()
  -- wrk calls request() once in thread 0 before any connection, to check
  -- the script's request: answer that call without taking a service.
  if offset == 0 and not checked then
    checked = true
    return wrk.format("GET", "/healthz")
  end
  local id
  if first <= last then
    id = queue[first]
    queue[first] = nil
    first = first + 1
  else
    -- Cannot happen with as many services as connections per thread.
    starved = starved + 1
    id = mine[starved % #mine + 1]
  end
  return reqs[id][suspended[id] and "unsuspend" or "suspend"]
end
function response(status, headers, body)
  count(status, body)
  local id = string.match(body, '"id":"([%x%-]+)"')
  if id and suspended[id] ~= nil then
    if status >= 200 and status <= 299 then suspended[id] = not suspended[id] end
    last = last + 1
    queue[last] = id
  end
end
)lua";
}

wrk_result run_wrk(const fs::path& script, uint16_t port) {
  auto cmd = fmt::format(
    "wrk -t{} -c{} -d{}s --timeout 10s --latency -s {} http://127.0.0.1:{}/ "
    "2>&1",
    wrk_threads, connections, wrk_seconds, script.string(), port);
  auto out = run(cmd);
  if (std::getenv("BENCH_API_VERBOSE") != nullptr)
    std::cerr << out;
  auto at = out.find("BENCH_RESULT ");
  if (at == std::string::npos)
    throw std::runtime_error("wrk printed no result:\n" + out);
  std::istringstream in{out.substr(at + 13)};
  double duration_us = 0, p99_us = 0;
  wrk_result r;
  in >> r.requests >> duration_us >> p99_us >> r.non2xx >> r.socket_errors
    >> r.first_bad_status;
  r.seconds = duration_us / 1e6;
  r.p99_ms = p99_us / 1e3;
  return r;
}

/// The value of figure `name` in bench_actor's output.
std::optional<double> figure_value(const std::string& out,
                                   const std::string& name) {
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    if (!ec && v.is_object() && v.as_object().contains("name")
        && v.at("name").as_string() == name)
      return v.at("value").to_number<double>();
  }
  return std::nullopt;
}

class api_bench {
public:
  api_bench() : data_(dir_.path() / "data") {
    billow_ = exe_dir().parent_path() / "billow";
    if (!fs::exists(billow_))
      throw std::runtime_error("no billow binary at " + billow_.string());
    run(fmt::format("{} admin create --email bench@example.com --password "
                    "bench-password-1 --data {} 2>&1",
                    billow_.string(), data_.string()));
    server_ = std::make_unique<billow_server>(billow_, data_,
                                              dir_.path() / "billow.log",
                                              exe_dir() / "modules",
                                              free_port());
    conn_ = std::make_unique<billow::test::http_connection>(server_->port(),
                                                            30s);
    auto tok = post(
      "/api/v1/auth/admin/token",
      {{"email", "bench@example.com"}, {"password", "bench-password-1"}}, 200);
    token_ = "Bearer " + std::string{tok.at("token").as_string()};
    auto client = post(
      "/api/v1/admin/clients",
      {{"name", "Bench"}, {"email", "bench@acme.test"}, {"currency", "EUR"}},
      201);
    // A product without a module: provisioned by hand, no jobs.
    auto product = post(
      "/api/v1/admin/products",
      {{"name", "Manual"},
       {"prices",
        json::array{
          {{"currency", "EUR"}, {"period", "monthly"}, {"amount", "5.00"}}}}},
      201);
    for (int i = 0; i < services; ++i) {
      auto svc = post("/api/v1/admin/services",
                      {{"client_id", client.at("id")},
                       {"product_id", product.at("id")},
                       {"period", "monthly"},
                       {"provision", "now"}},
                      201);
      ids_.emplace_back(svc.at("id").as_string());
    }
    // A product on the no-op module: each command queues its module job,
    // whose events share the writer, as in actor_command_roundtrip_c64;
    // eight services a connection, so a service's job is done before its
    // turn comes again (a command on a service whose job still runs is
    // refused with 409, counted as non-2xx).
    post("/api/v1/admin/modules/Product/noop/activate", {}, 200);
    auto with_module = post(
      "/api/v1/admin/products",
      {{"name", "No-op"},
       {"module", {{"type", "Product"}, {"name", "noop"}}},
       {"prices",
        json::array{
          {{"currency", "EUR"}, {"period", "monthly"}, {"amount", "5.00"}}}}},
      201);
    for (int i = 0; i < 8 * connections; ++i) {
      auto svc = post("/api/v1/admin/services",
                      {{"client_id", client.at("id")},
                       {"product_id", with_module.at("id")},
                       {"period", "monthly"},
                       {"provision", "now"}},
                      201);
      module_ids_.emplace_back(svc.at("id").as_string());
    }
    for (auto& id : module_ids_)
      wait_settled(id);
    auto one = conn_->request("GET", "/api/v1/admin/services/" + ids_[0], {},
                              {{"Authorization", token_}});
    if (one.status != 200
        || json::parse(one.body).at("status").as_string() != "active")
      throw std::runtime_error("service not active: " + one.body);
    service_body_ = one.body;
  }

  void get_service() {
    auto script = dir_.path() / "get.lua";
    std::ofstream{script} << get_script(ids_, token_);
    billow::bench::minimal_http_server minimal{1, service_body_};
    // Alternate the two and keep each one's best round, so a burst of noise
    // from the other processes here hits both alike.
    wrk_result best, best_min;
    double non2xx = 0, errors = 0, first_bad = 0;
    double cpu = 0, served = 0;
    for (int r = 0; r < rounds; ++r) {
      auto c0 = server_->cpu_seconds();
      auto b = run_wrk(script, server_->port());
      cpu += server_->cpu_seconds() - c0;
      served += b.requests;
      auto m = run_wrk(script, minimal.port());
      first_bad = std::max({first_bad, b.first_bad_status, m.first_bad_status});
      if (b.rps() > best.rps())
        best = b;
      if (m.rps() > best_min.rps())
        best_min = m;
      non2xx += b.non2xx + m.non2xx;
      errors += b.socket_errors + m.socket_errors;
    }
    billow::bench::print(
      {"api_get_service_rps",
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

  /// The best of the wrk runs of alternating commands on some services.
  struct command_run {
    wrk_result best;
    double non2xx = 0, errors = 0, first_bad = 0, cpu = 0, served = 0;
  };

  /// One wrk run of alternating commands on `ids`, added to `out`.
  void command_round(const std::vector<std::string>& ids, command_run& out) {
    auto script = dir_.path() / "commands.lua";
    // Each round starts from where the last one left the services, once
    // the commands wrk left in flight (and their jobs) are done.
    std::this_thread::sleep_for(1s);
    std::vector<bool> suspended;
    suspended.reserve(ids.size());
    for (auto& id : ids)
      suspended.push_back(wait_settled(id).at("status").as_string()
                          == "suspended");
    std::ofstream{script, std::ios::trunc}
      << command_script(ids, suspended, token_);
    auto c0 = server_->cpu_seconds();
    auto b = run_wrk(script, server_->port());
    out.cpu += server_->cpu_seconds() - c0;
    out.served += b.requests;
    out.first_bad = std::max(out.first_bad, b.first_bad_status);
    if (b.rps() > out.best.rps())
      out.best = b;
    out.non2xx += b.non2xx;
    out.errors += b.socket_errors;
  }

  void suspend_unsuspend() {
    // Rounds alternate: wrk on the services with a module, wrk on those
    // without, then the baselines from bench_actor (billow serve idles
    // meanwhile). Each side keeps its best round, so a burst of noise from
    // the other processes here hits both alike.
    command_run jobs, manual;
    double with_module = 0, no_module = 0;
    for (int r = 0; r < rounds; ++r) {
      command_round(module_ids_, jobs);
      command_round(ids_, manual);
      auto actor = run((exe_dir() / "bench_actor").string()
                       + " --filter actor_command_roundtrip_c64");
      auto without = figure_value(actor,
                                  "actor_command_roundtrip_c64_no_module");
      auto with = figure_value(actor, "actor_command_roundtrip_c64");
      if (!without || !with)
        throw std::runtime_error("bench_actor printed no baseline:\n" + actor);
      with_module = std::max(with_module, *with);
      no_module = std::max(no_module, *without);
    }
    auto line = [](const char* name, const command_run& c, const char* base,
                   double base_value) {
      billow::bench::print({name,
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
    conn_.reset();
    server_.reset();
  }

private:
  /// The service once no operation is pending on it (bounded).
  json::object wait_settled(const std::string& id) {
    for (int i = 0; i < 600; ++i) {
      auto v = conn_->request("GET", "/api/v1/admin/services/" + id, {},
                              {{"Authorization", token_}});
      auto doc = json::parse(v.body).as_object();
      if (doc.at("pending_operation").is_null())
        return doc;
      std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("service " + id + " stays busy");
  }

  json::object post(const std::string& target, const json::object& body,
                    unsigned want) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token_.empty())
      headers.emplace_back("Authorization", token_);
    auto r = conn_->request("POST", target, json::serialize(body), headers);
    if (r.status != want)
      throw std::runtime_error(
        fmt::format("POST {}: {} {}", target, r.status, r.body));
    return json::parse(r.body).as_object();
  }

  billow::test::temp_dir dir_{"bench-api"};
  fs::path data_;
  fs::path billow_;
  std::unique_ptr<billow_server> server_;
  std::unique_ptr<billow::test::http_connection> conn_;
  std::string token_;
  std::vector<std::string> ids_;
  /// Services of the no-op module's product.
  std::vector<std::string> module_ids_;
  std::string service_body_;
};

} // namespace

int main(int argc, char** argv) {
  auto filter = billow::bench::filter_from_args(argc, argv);
  bool get = billow::bench::selected("api_get_service_rps", filter);
  bool commands = billow::bench::selected("api_suspend_unsuspend_rps", filter);
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
