// bench_billing_api: billing over HTTP under wrk (see bench/report.hpp for
// the line format).
//
//   billing_invoice_pay_rps    wrk, 64 keep-alive connections, each request
//                              one step of an invoice's life on one of 64
//                              clients: POST /api/v1/admin/invoices (a
//                              draft), POST .../{id}/issue (numbered in the
//                              invoice series), POST .../{id}/payments (paid
//                              in full), then the client's next invoice; one
//                              step at a time per client, each answered once
//                              its events are durable; baseline:
//                              api_suspend_unsuspend_rps_no_module (as
//                              bench_api measures it), its wrk rounds
//                              alternating with these in the same run (each
//                              side: its best round). The goal is a ratio of
//                              at least 0.5. The line also carries the
//                              invoices paid a second and both p99s.
//
// Billow runs as a real `billow serve` child process on a temporary data
// directory (bench/api_harness.hpp). Every wrk run is bounded by time (-d)
// and by requests (the script stops each thread after its share); non-2xx
// answers are counted and the first one's status is in the line.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/api_harness.hpp"
#include "bench/report.hpp"

namespace bench = billow::bench;

namespace {

constexpr int clients = 64;
constexpr int rounds = 2;
/// Per wrk run, across threads.
constexpr long max_requests = 400'000;

/// Each thread owns every nthreads-th client and keeps a queue of the next
/// step of each of its clients' invoices: a create, an issue or a payment.
/// An answer (which names its invoice and client) queues the step after it,
/// so one client has one step in flight at a time.
std::string invoice_script(const std::vector<std::string>& client_ids,
                           const std::string& token) {
  return bench::lua_common(client_ids, token, max_requests) + R"lua(
function init(args)
  n = 0
  non2xx = 0
  extra = 0
  starved = 0
  mine = {}
  for k, id in ipairs(ids) do
    if (k - 1) % nthreads == offset then
      table.insert(mine, id)
      push({"create", id})
    end
  end
  headers = {["Authorization"] = token, ["Content-Type"] = "application/json"}
end
function request()
  if checking() then return wrk.format("GET", "/healthz") end
  local step = pop()
  if step == nil then
    -- Only after a refused step (its answer names no invoice): a new one.
    starved = starved + 1
    step = {"create", mine[starved % #mine + 1]}
  end
  local kind, client, invoice = step[1], step[2], step[3]
  if kind == "create" then
    return wrk.format("POST", "/api/v1/admin/invoices", headers,
      '{"client_id":"' .. client
      .. '","items":[{"description":"Hosting","amount":"15.00"}]}')
  elseif kind == "issue" then
    return wrk.format("POST", "/api/v1/admin/invoices/" .. invoice
      .. "/issue", headers, "{}")
  end
  return wrk.format("POST", "/api/v1/admin/invoices/" .. invoice
    .. "/payments", headers, '{"amount":"15.00","currency":"EUR",'
    .. '"gateway":"bank","transaction_id":"' .. invoice .. '"}')
end
function response(status, headers, body)
  count(status, body)
  if status < 200 or status > 299 then return end
  local id = string.match(body, '^{"id":"([%x%-]+)"')
  local client = string.match(body, '"client_id":"([%x%-]+)"')
  local st = string.match(body, '"status":"(%a+)"')
  if not id or not client then return end
  if st == "draft" then
    push({"issue", client, id})
  elseif st == "unpaid" then
    push({"pay", client, id})
  else
    extra = extra + 1
    push({"create", client})
  end
end
)lua";
}

} // namespace

int main(int argc, char** argv) {
  auto filter = bench::filter_from_args(argc, argv);
  if (!bench::selected("billing_invoice_pay_rps", filter))
    return 0;
  try {
    bench::api_session s{"bench-billing-api"};
    auto services = s.manual_services(bench::wrk_connections);
    std::vector<std::string> client_ids;
    client_ids.reserve(clients);
    for (int c = 0; c < clients; ++c)
      client_ids.emplace_back(s.post("/api/v1/admin/clients",
                                     {{"name", fmt::format("Client {}", c)},
                                      {"email", "billing@acme.test"},
                                      {"currency", "EUR"}},
                                     201)
                                .at("id")
                                .as_string());
    auto script = s.file("invoices.lua");
    std::ofstream{script} << invoice_script(client_ids, s.token());
    // Rounds alternate: the invoices, then the baseline's suspend and
    // unsuspend; each side keeps its best round, so a burst of noise from
    // the other processes here hits both alike.
    bench::command_run invoices, baseline;
    for (int r = 0; r < rounds; ++r) {
      auto c0 = s.server().cpu_seconds();
      auto b = bench::run_wrk(script, s.server().port());
      invoices.cpu += s.server().cpu_seconds() - c0;
      invoices.served += b.requests;
      invoices.first_bad = std::max(invoices.first_bad, b.first_bad_status);
      invoices.non2xx += b.non2xx;
      invoices.errors += b.socket_errors;
      if (b.rps() > invoices.best.rps())
        invoices.best = b;
      s.command_round(services, baseline);
    }
    const auto& best = invoices.best;
    bench::print({"billing_invoice_pay_rps",
                  best.rps(),
                  "requests/s",
                  "api_suspend_unsuspend_rps_no_module",
                  baseline.best.rps(),
                  {{"p99_ms", best.p99_ms},
                   {"baseline_p99_ms", baseline.best.p99_ms},
                   {"invoices_paid_per_s",
                    best.seconds > 0 ? best.extra / best.seconds : 0},
                   {"cpu_us_per_request", invoices.cpu * 1e6 / invoices.served},
                   {"connections", bench::wrk_connections},
                   {"clients", clients},
                   {"non2xx", invoices.non2xx},
                   {"non2xx_status", invoices.first_bad},
                   {"socket_errors", invoices.errors},
                   {"baseline_non2xx", baseline.non2xx},
                   {"goal_ratio", 0.5}}});
    s.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_billing_api: %s\n", e.what());
    return 1;
  }
  return 0;
}
