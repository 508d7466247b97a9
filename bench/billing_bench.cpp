// bench_billing: the billing documents' figures (see bench/report.hpp for the
// line format).
//
//   billing_pdf_per_s   one-page invoices (10 lines, a non-ASCII buyer)
//                       rendered to PDF bytes in memory, for ~3 s on 2
//                       threads; no baseline (the goal is >= 200/s). The
//                       line also carries the rate on 1 thread and the CPU
//                       time per PDF.
//
// Each thread renders once before the clock starts: the first render on a
// thread loads its fonts (Pango's font map is per thread).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "billing_document/invoice_pdf.hpp"
#include "bench/report.hpp"

namespace bench = billow::bench;
using billow::billing::invoice_document;
using billow::billing::render_invoice_pdf;

namespace {

invoice_document ten_line_invoice() {
  invoice_document d;
  d.number = "INV-2026-000123";
  d.issue_date = "2026-02-01";
  d.due_date = "2026-02-15";
  d.status = "unpaid";
  d.currency = "EUR";
  d.seller = {"Billow Hosting GmbH",
              {"Hauptstraße 1", "10115 Berlin", "Germany"},
              "DE123456789",
              "billing@billow.example",
              {}};
  d.buyer = {"Zoë Ångström-Müller",
             {"ul. Piotrkowska 12", "90-001 Łódź"},
             "PL5260250274",
             {},
             "Poland"};
  for (int i = 1; i <= 10; ++i)
    d.lines.push_back({"VPS Large (4 vCPU, 8 GB) #" + std::to_string(i),
                       "2026-02-01 – 2026-02-28", "40.00"});
  d.subtotal = "400.00";
  d.taxes = {{"VAT", "23%", "92.00"}};
  d.total = "492.00";
  d.amount_paid = "0.00";
  d.amount_due = "492.00";
  return d;
}

struct result {
  double per_s = 0;
  double cpu_ms_per_pdf = 0;
  uint64_t errors = 0;
  double bytes = 0;
};

/// Renders `doc` on `threads` threads for `duration`.
result run(const invoice_document& doc, int threads,
           std::chrono::milliseconds duration) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, stop{false};
  std::atomic<uint64_t> done{0}, errors{0}, bytes{0};
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      if (!render_invoice_pdf(doc))
        errors.fetch_add(1);
      ready.fetch_add(1);
      while (!go.load())
        std::this_thread::yield();
      uint64_t n = 0, b = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        auto pdf = render_invoice_pdf(doc);
        if (!pdf) {
          errors.fetch_add(1);
          continue;
        }
        b += pdf->size();
        ++n;
      }
      done.fetch_add(n);
      bytes.fetch_add(b);
    });
  while (ready.load() < threads)
    std::this_thread::yield();
  auto cpu0 = bench::process_cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  go = true;
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& w : workers)
    w.join();
  auto secs
    = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
        .count();
  auto cpu = bench::process_cpu_seconds() - cpu0;
  result r;
  auto n = static_cast<double>(done.load());
  r.per_s = n / secs;
  r.cpu_ms_per_pdf = n > 0 ? cpu * 1e3 / n : 0;
  r.errors = errors.load();
  r.bytes = n > 0 ? static_cast<double>(bytes.load()) / n : 0;
  return r;
}

} // namespace

int main(int argc, char** argv) {
  auto filter = bench::filter_from_args(argc, argv);
  if (!bench::selected("billing_pdf_per_s", filter))
    return 0;
  using namespace std::chrono_literals;
  auto doc = ten_line_invoice();
  auto one = run(doc, 1, 3s);
  auto two = run(doc, 2, 3s);
  bench::print({"billing_pdf_per_s",
                two.per_s,
                "pdfs/s",
                std::nullopt,
                std::nullopt,
                {{"threads", 2},
                 {"one_thread_per_s", one.per_s},
                 {"cpu_ms_per_pdf", two.cpu_ms_per_pdf},
                 {"pdf_bytes", two.bytes},
                 {"errors", static_cast<double>(one.errors + two.errors)}}});
  return one.errors + two.errors == 0 ? 0 : 1;
}
