#include "bench/api_harness.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "bench/report.hpp"

namespace billow::bench {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

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
  suspended = {}
  mine = {}
  for k, id in ipairs(ids) do
    if (k - 1) % nthreads == offset then
      push(id)
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
  if checking() then return wrk.format("GET", "/healthz") end
  local id = pop()
  if id == nil then
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
    push(id)
  end
end
)lua";
}

} // namespace

/// The directory of this executable (build/bench).
fs::path exe_dir() {
  return fs::read_symlink("/proc/self/exe").parent_path();
}

/// Runs `cmd` through the shell; its standard output, or throws.
std::string run_command(const std::string& cmd) {
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

billow_server::billow_server(const fs::path& billow, const fs::path& data,
                             const fs::path& log, const fs::path& modules,
                             uint16_t port)
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
      if (test::http_get(port_, "/readyz").status == 200)
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

billow_server::~billow_server() {
  stop();
}

void billow_server::stop() {
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

double billow_server::cpu_seconds() const {
  return process_cpu_seconds(pid_);
}

std::string lua_common(const std::vector<std::string>& ids,
                       const std::string& token, long max_requests) {
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
-- The thread's queue of work ready to send.
queue, first, last = {{}}, 1, 0
function push(x)
  last = last + 1
  queue[last] = x
end
-- The next work in the queue; nil when none is ready.
function pop()
  if first > last then return nil end
  local x = queue[first]
  queue[first] = nil
  first = first + 1
  return x
end
-- wrk calls request() once in thread 0 before any connection, to check the
-- script's request: true for that call, which takes no work (answer it with
-- a GET /healthz).
function checking()
  if offset == 0 and not checked then
    checked = true
    return true
  end
  return false
end
function done(summary, latency, requests)
  local bad = 0
  local first = 0
  local extra = 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    if t:get("firstbad") then first = t:get("firstbad") end
    if t:get("extra") then extra = extra + t:get("extra") end
  end
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %.1f %d %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(99.0), bad,
    e.connect + e.read + e.write + e.timeout, first, extra))
end
)lua",
                     token, max_requests / wrk_threads, wrk_threads);
  return out;
}

wrk_result run_wrk(const fs::path& script, uint16_t port) {
  auto cmd = fmt::format(
    "wrk -t{} -c{} -d{}s --timeout 10s --latency -s {} http://127.0.0.1:{}/ "
    "2>&1",
    wrk_threads, wrk_connections, wrk_seconds, script.string(), port);
  auto out = run_command(cmd);
  if (std::getenv("BENCH_API_VERBOSE") != nullptr)
    std::cerr << out;
  auto at = out.find("BENCH_RESULT ");
  if (at == std::string::npos)
    throw std::runtime_error("wrk printed no result:\n" + out);
  std::istringstream in{out.substr(at + 13)};
  double duration_us = 0, p99_us = 0;
  wrk_result r;
  in >> r.requests >> duration_us >> p99_us >> r.non2xx >> r.socket_errors
    >> r.first_bad_status >> r.extra;
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

api_session::api_session(const std::string& prefix)
  : dir_(prefix), data_(dir_.path() / "data") {
  billow_ = exe_dir().parent_path() / "billow";
  if (!fs::exists(billow_))
    throw std::runtime_error("no billow binary at " + billow_.string());
  run_command(fmt::format("{} admin create --email bench@example.com "
                          "--password bench-password-1 --data {} 2>&1",
                          billow_.string(), data_.string()));
  server_ = std::make_unique<billow_server>(billow_, data_,
                                            dir_.path() / "billow.log",
                                            exe_dir() / "modules", free_port());
  conn_ = std::make_unique<test::http_connection>(server_->port(), 30s);
  auto tok = post(
    "/api/v1/auth/admin/token",
    {{"email", "bench@example.com"}, {"password", "bench-password-1"}}, 200);
  token_ = "Bearer " + std::string{tok.at("token").as_string()};
}

api_session::~api_session() = default;

json::object api_session::post(const std::string& target,
                               const json::object& body, unsigned want) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token_.empty())
    headers.emplace_back("Authorization", token_);
  auto r = conn_->request("POST", target, json::serialize(body), headers);
  if (r.status != want)
    throw std::runtime_error(
      fmt::format("POST {}: {} {}", target, r.status, r.body));
  return json::parse(r.body).as_object();
}

test::http_reply api_session::get(const std::string& target) {
  return conn_->request("GET", target, {}, {{"Authorization", token_}});
}

json::object api_session::wait_settled(const std::string& id) {
  for (int i = 0; i < 600; ++i) {
    auto v = get("/api/v1/admin/services/" + id);
    auto doc = json::parse(v.body).as_object();
    if (doc.at("pending_operation").is_null())
      return doc;
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("service " + id + " stays busy");
}

std::vector<std::string> api_session::manual_services(int n,
                                                      std::string* client_id) {
  auto client = post(
    "/api/v1/admin/clients",
    {{"name", "Bench"}, {"email", "bench@acme.test"}, {"currency", "EUR"}},
    201);
  if (client_id != nullptr)
    *client_id = std::string{client.at("id").as_string()};
  // A product without a module: provisioned by hand, no jobs.
  auto product = post(
    "/api/v1/admin/products",
    {{"name", "Manual"},
     {"prices",
      json::array{
        {{"currency", "EUR"}, {"period", "monthly"}, {"amount", "5.00"}}}}},
    201);
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto svc = post("/api/v1/admin/services",
                    {{"client_id", client.at("id")},
                     {"product_id", product.at("id")},
                     {"period", "monthly"},
                     {"provision", "now"}},
                    201);
    ids.emplace_back(svc.at("id").as_string());
  }
  return ids;
}

void api_session::command_round(const std::vector<std::string>& ids,
                                command_run& out) {
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

void api_session::stop() {
  conn_.reset();
  server_.reset();
}

} // namespace billow::bench
