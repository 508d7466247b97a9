// The billing clock in invoice mode, a year in seconds on the manual clock: a
// monthly service ordered on Jan 31 renews Feb 28, Mar 31, Apr 30, ...; an
// annual one once a year; every period is invoiced exactly once and none is
// missed between the start and billed_until (the double-billing check); a run
// repeated at any point writes nothing; the preview is what the run then
// does; paying moves the service's next_due_date.

#include <chrono>
#include <map>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "actors/billing/periods.hpp"
#include "tests/api/client_fixture.hpp"

namespace json = boost::json;
using billow::test::http_reply;

namespace {

using namespace std::chrono;

/// The manual clock's start (actors/clock.hpp).
constexpr int64_t clock_origin_s = 1'700'000'000;

class billing_clock_test : public billow::test::client_fixture {
protected:
  billing_clock_test() {
    clock_ = billow::actors::clock_kind::manual;
  }

  static std::string str(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string{v->as_string()} : std::string{};
  }

  /// Moves the manual clock `seconds` on (which runs the billing); the
  /// advance's answer.
  json::object advance(int64_t seconds) {
    advanced_ += seconds;
    auto r = call("POST", "/api/v1/admin/clock/advance", {},
                  json::object{{"seconds", seconds}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return doc(r);
  }

  /// Moves the clock to `day` 10:00 UTC.
  json::object advance_to(year_month_day day) {
    auto target
      = duration_cast<seconds>((sys_days{day} + hours{10}).time_since_epoch())
          .count();
    auto now = now_s();
    EXPECT_GT(target, now);
    return advance(target - now);
  }

  int64_t now_s() {
    return clock_origin_s + advanced_;
  }

  json::object run() {
    auto r = call("POST", "/api/v1/admin/billing/run");
    EXPECT_EQ(r.status, 200u) << r.body;
    return doc(r);
  }

  static bool all_zero(const json::object& counts) {
    for (const auto& [k, v] : counts)
      if (!v.is_int64() || v.as_int64() != 0)
        return false;
    return counts.size() == 6;
  }

  int64_t last_position() {
    auto r = call("GET", "/api/v1/admin/events?limit=1");
    EXPECT_EQ(r.status, 200u) << r.body;
    return doc(r).at("last_position").as_int64();
  }

  std::string make_billed_client(const std::string& email) {
    auto r = call("POST", "/api/v1/admin/clients", {},
                  json::object{{"name", "C " + email},
                               {"email", email},
                               {"currency", "EUR"}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return text(r, "id");
  }

  std::string make_priced_product() {
    auto r
      = call("POST", "/api/v1/admin/products", {},
             json::object{{"name", "Hosting"},
                          {"prices",
                           json::array{json::object{{"currency", "EUR"},
                                                    {"period", "monthly"},
                                                    {"amount", "9.90"}},
                                       json::object{{"currency", "EUR"},
                                                    {"period", "annually"},
                                                    {"amount", "99.00"}}}}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return text(r, "id");
  }

  http_reply pay(const std::string& invoice, const std::string& amount,
                 const std::string& txn) {
    return call("POST", "/api/v1/admin/invoices/" + invoice + "/payments", {},
                json::object{{"amount", amount},
                             {"currency", "EUR"},
                             {"gateway", "bank"},
                             {"transaction_id", txn}});
  }

  /// Orders `period` of `product` for `client`, pays its first invoice and
  /// waits until the service is active; the service id.
  std::string order_paid(const std::string& client, const std::string& product,
                         const std::string& period, const std::string& amount) {
    auto order = call("POST", "/api/v1/admin/services", {},
                      json::object{{"client_id", client},
                                   {"product_id", product},
                                   {"period", period}});
    EXPECT_EQ(order.status, 201u) << order.body;
    auto id = text(order, "id");
    EXPECT_EQ(pay(text(order, "invoice_id"), amount, "ORDER-" + id).status,
              201u);
    auto deadline = steady_clock::now() + seconds(20);
    json::object svc;
    while (steady_clock::now() < deadline) {
      svc = settle(id);
      if (str(svc, "status") == "active")
        break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_EQ(str(svc, "status"), "active") << json::serialize(svc);
    return id;
  }

  /// Every invoice of `client`, as of the log's head.
  json::array invoices_of(const std::string& client) {
    auto r = call("GET",
                  "/api/v1/admin/invoices?limit=1000&client_id=" + client
                    + "&min_position=" + std::to_string(last_position()));
    EXPECT_EQ(r.status, 200u) << r.body;
    return doc(r).at("items").as_array();
  }

  /// The periods (from -> to) invoiced for `service` among `invoices`, each
  /// with how often it was invoiced, and the ids of the unpaid ones.
  static std::map<std::string, std::pair<std::string, int>>
  periods_of(const json::array& invoices, const std::string& service) {
    std::map<std::string, std::pair<std::string, int>> out;
    for (const auto& v : invoices) {
      const auto& inv = v.as_object();
      if (str(inv, "status") == "cancelled")
        continue;
      for (const auto& i : inv.at("items").as_array()) {
        const auto& item = i.as_object();
        if (str(item, "service_id") != service
            || str(item, "period_from").empty())
          continue;
        auto& p = out[str(item, "period_from")];
        p.first = str(item, "period_to");
        ++p.second;
      }
    }
    return out;
  }

  /// Pays every unpaid invoice of `client`.
  void pay_all(const std::string& client) {
    for (const auto& v : invoices_of(client)) {
      const auto& inv = v.as_object();
      if (str(inv, "status") == "unpaid") {
        EXPECT_EQ(pay(str(inv, "id"), str(inv, "amount_due"),
                      "PAY-" + str(inv, "id"))
                    .status,
                  201u);
      }
    }
  }

  static std::string day_after(const std::string& date) {
    auto next = billow::billing::add_days(date, 1);
    return next ? *next : std::string{"?"};
  }

  int64_t advanced_ = 0;
};

TEST_F(billing_clock_test, a_year_of_renewals_bills_every_period_once) {
  // Jan 31, 2025, 10:00 UTC.
  auto a = advance_to(2025y / January / 31);
  EXPECT_TRUE(str(a, "now").starts_with("2025-01-31T10:00:00"))
    << json::serialize(a);
  auto client = make_billed_client("year@example.test");
  auto product = make_priced_product();
  auto monthly = order_paid(client, product, "monthly", "9.90");
  auto annual = order_paid(client, product, "annually", "99.00");

  // A year, a day at a time; each advance runs the billing, and a run
  // repeated right after writes nothing.
  uint64_t issued = 0;
  for (int day = 1; day <= 365; ++day) {
    auto adv = advance(86400);
    ASSERT_TRUE(adv.contains("billing")) << json::serialize(adv);
    issued += adv.at("billing").at("invoices_issued").as_int64();
    auto before = last_position();
    auto again = run();
    EXPECT_TRUE(all_zero(again))
      << "day " << day << ": " << json::serialize(again);
    EXPECT_EQ(last_position(), before) << "day " << day;
    if (day % 30 == 0 && day <= 300)
      pay_all(client); // paid now and then; unpaid ones renew all the same
  }
  // Now 2026-01-31; the window (14 days) reaches 2026-02-14.
  auto invoices = invoices_of(client);
  auto months = periods_of(invoices, monthly);
  std::vector<std::string> starts{"2025-01-31", "2025-02-28", "2025-03-31",
                                  "2025-04-30", "2025-05-31", "2025-06-30",
                                  "2025-07-31", "2025-08-31", "2025-09-30",
                                  "2025-10-31", "2025-11-30", "2025-12-31",
                                  "2026-01-31"};
  ASSERT_EQ(months.size(), starts.size());
  size_t n = 0;
  std::string expected_from = starts.front();
  for (const auto& [from, p] : months) {
    EXPECT_EQ(from, starts[n++]);
    EXPECT_EQ(p.second, 1) << from << " invoiced " << p.second << " times";
    // No gap and no overlap: each period starts the day after the last.
    EXPECT_EQ(from, expected_from);
    expected_from = day_after(p.first);
  }
  EXPECT_EQ(months.rbegin()->second.first, "2026-02-27");
  auto years = periods_of(invoices, annual);
  ASSERT_EQ(years.size(), 2u);
  EXPECT_EQ(years.begin()->first, "2025-01-31");
  EXPECT_EQ(years.begin()->second.first, "2026-01-30");
  EXPECT_EQ(years.rbegin()->first, "2026-01-31");
  EXPECT_EQ(years.rbegin()->second.first, "2027-01-30");
  EXPECT_EQ(issued, 12u + 1u);
  // Renewals are due when their period starts.
  for (const auto& v : invoices) {
    const auto& inv = v.as_object();
    if (str(inv, "purpose") != "renewal")
      continue;
    EXPECT_EQ(str(inv, "due_date"),
              str(inv.at("items").at(0).as_object(), "period_from"));
  }

  // Paying moves next_due_date; billed_until is the last invoiced day.
  auto svc = doc(call("GET", "/api/v1/admin/services/" + monthly));
  EXPECT_EQ(str(svc, "billed_until"), "2026-02-27") << json::serialize(svc);
  auto due_before = str(svc, "next_due_date");
  pay_all(client);
  auto position = std::to_string(last_position());
  svc = doc(call(
    "GET", "/api/v1/admin/services/" + monthly + "?min_position=" + position));
  EXPECT_EQ(str(svc, "next_due_date"), "2026-02-28") << json::serialize(svc);
  // Paid last on day 300 (Nov 27): up to the period from Nov 30.
  EXPECT_EQ(due_before, "2025-12-31");
  svc = doc(call("GET", "/api/v1/admin/services/" + annual));
  EXPECT_EQ(str(svc, "next_due_date"), "2027-01-31") << json::serialize(svc);

  // Restarted, the projection rebuilds the same billing; a run writes
  // nothing.
  stop();
  start();
  svc = doc(call("GET", "/api/v1/admin/services/" + monthly));
  EXPECT_EQ(str(svc, "billed_until"), "2026-02-27") << json::serialize(svc);
  EXPECT_EQ(str(svc, "next_due_date"), "2026-02-28");
  auto before = last_position();
  EXPECT_TRUE(all_zero(run()));
  EXPECT_EQ(last_position(), before);
}

TEST_F(billing_clock_test, the_preview_is_what_the_run_then_does) {
  advance_to(2025y / January / 31);
  auto client = make_billed_client("preview@example.test");
  auto other = make_billed_client("other@example.test");
  auto product = make_priced_product();
  auto monthly = order_paid(client, product, "monthly", "9.90");
  auto theirs = order_paid(other, product, "monthly", "9.90");
  // An order never paid: its service is pending, not renewed.
  auto unpaid = call("POST", "/api/v1/admin/services", {},
                     json::object{{"client_id", client},
                                  {"product_id", product},
                                  {"period", "monthly"}});
  ASSERT_EQ(unpaid.status, 201u) << unpaid.body;

  auto preview = call("GET",
                      "/api/v1/admin/billing/preview?client_id=" + client
                        + "&until=2025-05-17");
  ASSERT_EQ(preview.status, 200u) << preview.body;
  auto planned = doc(preview).at("invoices").as_array();
  // Feb 28, Mar 31, Apr 30 and May 31 (within 14 days of May 17).
  ASSERT_EQ(planned.size(), 4u) << preview.body;
  EXPECT_EQ(str(planned[0].as_object(), "due_date"), "2025-02-28");
  EXPECT_EQ(str(planned[3].as_object(), "due_date"), "2025-05-31")
    << preview.body;
  for (const auto& p : planned) {
    EXPECT_EQ(str(p.as_object(), "service_id"), monthly);
    EXPECT_EQ(str(p.as_object(), "total"), "9.90");
    EXPECT_EQ(str(p.as_object(), "currency"), "EUR");
  }
  // A preview writes nothing.
  auto before = last_position();
  auto all = call("GET", "/api/v1/admin/billing/preview?until=2025-05-17");
  ASSERT_EQ(all.status, 200u);
  EXPECT_EQ(doc(all).at("invoices").as_array().size(), 8u) << all.body;
  EXPECT_EQ(last_position(), before);

  // One jump to May 17: four periods behind, one invoice each, in order.
  auto adv = advance_to(2025y / May / 17);
  EXPECT_EQ(adv.at("billing").at("invoices_issued").as_int64(), 8)
    << json::serialize(adv);
  for (const auto& p : planned) {
    const auto& want = p.as_object();
    auto inv
      = doc(call("GET", "/api/v1/admin/invoices/" + str(want, "invoice_id")));
    EXPECT_EQ(str(inv, "status"), "unpaid") << json::serialize(inv);
    EXPECT_EQ(str(inv, "total"), str(want, "total"));
    EXPECT_EQ(str(inv, "due_date"), str(want, "due_date"));
    EXPECT_EQ(json::serialize(inv.at("items").at(0).at("period_from")),
              json::serialize(want.at("items").at(0).at("period_from")));
    EXPECT_EQ(json::serialize(inv.at("items").at(0).at("period_to")),
              json::serialize(want.at("items").at(0).at("period_to")));
    EXPECT_EQ(json::serialize(inv.at("items").at(0).at("description")),
              json::serialize(want.at("items").at(0).at("description")));
  }
  // Nothing is left to preview or to run.
  auto after = call("GET", "/api/v1/admin/billing/preview");
  EXPECT_TRUE(doc(after).at("invoices").as_array().empty()) << after.body;
  before = last_position();
  EXPECT_TRUE(all_zero(run()));
  EXPECT_EQ(last_position(), before);
  // A terminated service is not renewed: 40 days on (Jun 26, the window to
  // Jul 10), only the other's period from Jun 30 is invoiced.
  auto gone = call("POST", "/api/v1/admin/services/" + theirs + "/terminate",
                   {}, json::object{{"reason", "gone"}});
  EXPECT_EQ(gone.status, 200u) << gone.body;
  auto later = advance(40 * 86400);
  EXPECT_EQ(later.at("billing").at("invoices_issued").as_int64(), 1)
    << json::serialize(later);
  EXPECT_EQ(periods_of(invoices_of(other), theirs).size(), 5u);
  EXPECT_EQ(periods_of(invoices_of(client), monthly).size(), 6u);
  // A bad date is refused.
  EXPECT_EQ(
    call("GET", "/api/v1/admin/billing/preview?until=2025-02-30").status, 422u);
  EXPECT_EQ(call("POST", "/api/v1/admin/billing/run", reader_).status, 403u);
}

} // namespace
