// SIGKILLs `billow serve` while concurrent clients draft and issue invoices
// (and now and then pay one and refund it, so that a credit note takes a
// number of its own series too), round after round, and checks after every
// restart what the numbering promises (docs/api.md, "The invoice";
// actors/billing/billing.hpp):
//
// - each series' `series.number_taken` sequences, read from the log, are
//   1..N with no gap and no repeat, each number carried by the one
//   `invoice.issued` of its invoice;
// - every issue (and credit note) acknowledged before the kill is still
//   there with the number it was answered, and each invoice has the status
//   its acknowledged commands left (`unpaid` when only issued);
// - no two invoices share a number, and the invoice list read at the log's
//   head (`min_position`) agrees with the log;
// - a retried issue (the same request) answers the same number or 409 "only
//   a draft can be issued", never a new number; a retried refund answers the
//   same credit note;
// - `billow verify` passes on the data directory at the end.
//
// The kill lands at a random moment of each burst (after its first
// acknowledged issue); the seed is printed, and BILLOW_KILL_SEED=<seed>
// replays the same kill delays.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/cli/admin_server.hpp"
#include "tests/cli/run_billow.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace json = boost::json;
using billow::test::admin_server;
using billow::test::http_connection;
using billow::test::http_reply;
using billow::test::run_billow;
using namespace std::chrono_literals;

namespace {

constexpr int rounds = 5;
constexpr int threads = 8;
/// Two threads share each client (its account actor decides for both); all
/// share the series.
constexpr int clients = 4;
/// The odd threads pay and refund every this-many-th invoice they issue.
constexpr int refund_every = 4;
/// The longest wait from a burst's first acknowledged issue to the kill.
constexpr int max_kill_delay_ms = 400;
constexpr const char* admin_email = "ops@example.com";
constexpr const char* admin_password = "long-enough";

std::unique_ptr<admin_server> start_server(const std::string& data) {
  return std::make_unique<admin_server>(data, admin_email, admin_password);
}

std::string str(const json::value& v, std::string_view key) {
  auto* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_string() ? std::string{f->as_string()}
                                        : std::string{};
}

int64_t num(const json::value& v, std::string_view key) {
  auto* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_number() ? f->to_number<int64_t>() : 0;
}

/// The 409 of an issue of an invoice that is not a draft any more.
bool only_a_draft(const http_reply& reply) {
  return reply.status == 409
    && reply.body.find("Only a draft can be issued") != std::string::npos;
}

/// One command sent for an invoice (`issue`, `pay` or `refund`), as a
/// client would send it again, and what it answered.
struct attempt {
  std::string what;
  std::string invoice_id;
  std::string target;
  std::string body;
  std::string key;
  bool acknowledged = false;
  /// Issue and refund: the invoice that took the number (the invoice, or
  /// its credit note), the number and its sequence.
  std::string numbered_id;
  std::string number;
  int64_t sequence = 0;

  static attempt of(std::string what, std::string invoice_id,
                    std::string target, std::string body, std::string key) {
    attempt a;
    a.what = std::move(what);
    a.invoice_id = std::move(invoice_id);
    a.target = std::move(target);
    a.body = std::move(body);
    a.key = std::move(key);
    return a;
  }
};

/// What one thread of a burst sent and saw.
struct thread_log {
  std::vector<attempt> attempts;
  std::vector<std::string> unexpected;
};

/// What a burst's threads share while it runs.
struct burst {
  std::atomic<int> acknowledged{0};
  std::atomic<int> running{0};
  /// Set just before the kill: no answer after it is a failure.
  std::atomic<bool> killed{false};
};

/// Sends `a` on `http`; answers the reply.
http_reply send(http_connection& http, const admin_server& srv,
                const attempt& a) {
  auto h = srv.auth;
  h.emplace_back("Idempotency-Key", a.key);
  return http.request("POST", a.target, a.body, h);
}

/// Keeps the number a 2xx of an issue or a refund answered.
void acknowledge(attempt& a, const http_reply& reply) {
  auto doc = json::parse(reply.body);
  a.acknowledged = true;
  a.numbered_id = str(doc, "id");
  a.number = str(doc, "number");
  a.sequence = num(doc, "sequence");
}

/// One thread of a burst: drafts an invoice for its client, issues it (and
/// every `refund_every`-th time on odd threads pays it and refunds it), and
/// again, until the server dies (or `until`).
void draft_and_issue(const admin_server& srv, const std::string& client,
                     int round, int t, burst& b, thread_log& out,
                     std::chrono::steady_clock::time_point until) {
  ++b.running;
  try {
    http_connection http{srv.port};
    // Each attempt is logged before it is sent: its answer may never come.
    auto run = [&](attempt a, unsigned want) -> attempt* {
      auto& sent = out.attempts.emplace_back(std::move(a));
      auto reply = send(http, srv, sent);
      if (reply.status != want) {
        out.unexpected.push_back(fmt::format(
          "{} {}: {} {}", sent.what, sent.key, reply.status, reply.body));
        return nullptr;
      }
      if (sent.what != "pay")
        acknowledge(sent, reply);
      sent.acknowledged = true;
      return &sent;
    };
    for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
      auto tag = fmt::format("{}-{}-{}", round, t, i);
      auto created
        = run(attempt::of(
                "create", "", "/api/v1/admin/invoices",
                json::serialize(json::object{
                  {"client_id", client},
                  {"items",
                   json::array{json::object{{"description", "Hosting " + tag},
                                            {"amount", "15.00"}}}}}),
                "create-" + tag),
              201);
      if (created == nullptr)
        break;
      auto id = created->numbered_id;
      auto base = "/api/v1/admin/invoices/" + id;
      if (run(attempt::of("issue", id, base + "/issue", "", "issue-" + tag),
              200)
          == nullptr)
        break;
      ++b.acknowledged;
      if (t % 2 == 0 || i % refund_every != refund_every - 1)
        continue;
      if (run(attempt::of(
                "pay", id, base + "/payments",
                json::serialize(json::object{{"amount", "15.00"},
                                             {"currency", "EUR"},
                                             {"gateway", "bank"},
                                             {"transaction_id", "T-" + tag}}),
                "pay-" + tag),
              201)
            == nullptr
          || run(
               attempt::of("refund", id, base + "/refunds",
                           json::serialize(json::object{{"amount", "15.00"},
                                                        {"reason", "kill test"},
                                                        {"method", "record"}}),
                           "refund-" + tag),
               201)
            == nullptr)
        break;
    }
  } catch (const std::exception& e) {
    // The server died under this thread: expected once killed.
    if (!b.killed)
      out.unexpected.push_back(
        fmt::format("thread {} before the kill: {}", t, e.what()));
  }
  --b.running;
}

/// Sends every attempt of a round again after the restart, with its key, as
/// a client that got no answer (or lost it) would, and checks the answers;
/// adds the issues it finds committed though not acknowledged to
/// `committed`. Answers {replayed, refused, late}.
std::tuple<int, int, int> retry(const admin_server& srv,
                                std::vector<attempt>& attempts,
                                std::set<std::string>& committed) {
  http_connection http{srv.port};
  int replayed = 0, refused = 0, late = 0;
  for (auto& a : attempts) {
    if (a.what == "create")
      continue;
    auto reply = send(http, srv, a);
    replayed += reply.header("idempotent-replayed") == "true";
    if (a.what == "issue" && only_a_draft(reply)) {
      ++refused;
      if (!a.acknowledged)
        committed.insert(a.invoice_id);
      continue;
    }
    if (reply.status != 200 && reply.status != 201) {
      ADD_FAILURE() << "retried " << a.what << " " << a.key << ": "
                    << reply.status << " " << reply.body;
      continue;
    }
    if (a.what == "pay") {
      a.acknowledged = true;
      continue;
    }
    auto before = a;
    acknowledge(a, reply);
    if (before.acknowledged) {
      EXPECT_EQ(a.numbered_id, before.numbered_id)
        << "the retried " << a.what << " " << a.key
        << " answered another invoice";
      EXPECT_EQ(a.number, before.number)
        << "the retried " << a.what << " " << a.key << " answered a new number";
    } else {
      ++late; // issued (or refunded) now, or its kept answer replayed
    }
  }
  // The same issues as new requests (no key: the account actor decides
  // again, not the kept answer): each invoice is issued by now, and none
  // takes another number.
  for (const auto& a : attempts) {
    if (a.what != "issue")
      continue;
    auto reply = http.request("POST", a.target, {}, srv.auth);
    EXPECT_TRUE(only_a_draft(reply))
      << "issue of " << a.invoice_id << " (" << a.number
      << ") again: " << reply.status << " " << reply.body;
  }
  return {replayed, refused, late};
}

/// A number as the log holds it.
struct taken_number {
  std::string series;
  int64_t sequence = 0;
  std::string number;
};

/// Checks the log, the invoices and the list against each other and against
/// what was acknowledged (every attempt of every round so far, retried);
/// answers how many numbers were taken.
size_t check_numbering(const admin_server& srv, const std::vector<attempt>& all,
                       const std::set<std::string>& committed) {
  // Every series: its stream's `series.number_taken`, in version order.
  std::map<std::string, taken_number> by_invoice;
  std::map<std::string, std::vector<json::value>> series;
  for (auto& ev : srv.all_items("/api/v1/admin/events?stream_prefix=series-"))
    series[str(ev, "stream")].push_back(ev);
  EXPECT_TRUE(series.contains("series-invoice"));
  size_t total = 0;
  for (auto& [stream, evs] : series) {
    SCOPED_TRACE(stream);
    EXPECT_TRUE(stream == "series-invoice" || stream == "series-credit_note");
    std::set<std::string> numbers;
    for (size_t k = 0; k < evs.size(); ++k) {
      auto& ev = evs[k];
      auto& p = ev.at("payload");
      EXPECT_EQ(str(ev, "type"), "series.number_taken");
      auto sequence = num(p, "sequence");
      auto position = num(ev, "position");
      // 1..N in order: a gap or a repeat shows as the first mismatch.
      EXPECT_EQ(sequence, static_cast<int64_t>(k + 1))
        << "sequence " << sequence << " at log position " << position
        << " where " << k + 1 << " was due (gap or repeat)";
      EXPECT_EQ(num(ev, "version"), sequence) << "at position " << position;
      auto number = str(p, "number");
      EXPECT_TRUE(numbers.insert(number).second)
        << number << " taken twice, again at log position " << position;
      auto invoice = str(p, "invoice_id");
      auto [it, fresh] = by_invoice.emplace(
        invoice, taken_number{stream.substr(7), sequence, number});
      EXPECT_TRUE(fresh) << "invoice " << invoice
                         << " numbered twice: " << it->second.number << " and "
                         << number;
    }
    total += evs.size();
  }

  // Each number taken is carried by its invoice's one `invoice.issued`.
  auto issued = srv.all_items("/api/v1/admin/events?type=invoice.issued");
  std::set<std::string> issued_invoices;
  for (auto& ev : issued) {
    auto invoice = str(ev, "stream").substr(8);
    auto& p = ev.at("payload");
    EXPECT_TRUE(issued_invoices.insert(invoice).second)
      << "invoice " << invoice << " issued twice";
    auto t = by_invoice.find(invoice);
    if (t == by_invoice.end()) {
      ADD_FAILURE() << "invoice " << invoice << " issued as "
                    << str(p, "number") << " at log position "
                    << num(ev, "position") << " without a series.number_taken";
      continue;
    }
    EXPECT_EQ(str(p, "series"), t->second.series) << invoice;
    EXPECT_EQ(num(p, "sequence"), t->second.sequence) << invoice;
    EXPECT_EQ(str(p, "number"), t->second.number) << invoice;
  }
  EXPECT_EQ(issued.size(), total)
    << "numbers taken without an invoice.issued (or the other way round)";

  // What every invoice and credit note should be now: acknowledged numbers
  // kept, statuses as the acknowledged (or retried) commands left them.
  std::map<std::string, std::string> status, number;
  for (const auto& a : all) {
    if (!a.acknowledged || a.what == "create")
      continue;
    if (a.what == "issue") {
      status[a.invoice_id] = "unpaid";
      number[a.invoice_id] = a.number;
    } else if (a.what == "pay") {
      status[a.invoice_id] = "paid";
    } else {
      status[a.invoice_id] = "refunded";
      number[a.numbered_id] = a.number;
    }
  }
  for (const auto& [id, n] : number) {
    auto t = by_invoice.find(id);
    if (t == by_invoice.end())
      ADD_FAILURE() << "acknowledged " << n << " (" << id
                    << ") is not in the log";
    else
      EXPECT_EQ(t->second.number, n) << id;
  }
  for (const auto& id : committed)
    EXPECT_TRUE(by_invoice.contains(id))
      << "the retry of " << id << " said it was issued; the log has no number";

  // The list, read at the log's head, agrees.
  http_connection http{srv.port};
  auto head = num(
    json::parse(
      http.request("GET", "/api/v1/admin/events?limit=1", {}, srv.auth).body),
    "last_position");
  http_reply failed;
  auto listed = srv.all_items("/api/v1/admin/invoices?min_position="
                                + std::to_string(head),
                              1000, &failed);
  EXPECT_EQ(failed.status, 0u) << failed.status << " " << failed.body;
  std::map<std::string, json::value> list_by_id;
  std::set<std::string> listed_numbers;
  size_t numbered = 0;
  for (auto& item : listed) {
    auto n = str(item, "number");
    if (!n.empty()) {
      ++numbered;
      EXPECT_TRUE(listed_numbers.insert(n).second)
        << "two invoices listed with number " << n;
    }
    list_by_id[str(item, "id")] = item;
  }
  EXPECT_EQ(numbered, total)
    << "the list's numbered invoices and the log's numbers taken differ";
  for (const auto& [invoice, t] : by_invoice) {
    auto l = list_by_id.find(invoice);
    if (l == list_by_id.end()) {
      ADD_FAILURE() << "numbered invoice " << invoice << " is not listed";
      continue;
    }
    EXPECT_EQ(str(l->second, "number"), t.number) << invoice;
    EXPECT_EQ(num(l->second, "sequence"), t.sequence) << invoice;
    EXPECT_EQ(str(l->second, "series"), t.series) << invoice;
  }
  for (const auto& [id, s] : status) {
    auto l = list_by_id.find(id);
    if (l == list_by_id.end())
      ADD_FAILURE() << "invoice " << id << " is not listed";
    else
      EXPECT_EQ(str(l->second, "status"), s) << id;
  }
  // An invoice the list calls unpaid was issued and never paid: either its
  // issue is acknowledged, or it was committed unanswered.
  for (const auto& [id, item] : list_by_id) {
    if (str(item, "status") == "unpaid" && str(item, "type") == "invoice") {
      EXPECT_TRUE(status.contains(id) || committed.contains(id)) << id;
    }
  }
  return total;
}

} // namespace

TEST(billing_kill_test,
     numbers_stay_gapless_and_acknowledged_issues_survive_sigkill) {
  auto seed = std::random_device{}();
  if (auto* s = std::getenv("BILLOW_KILL_SEED"))
    seed = static_cast<unsigned>(std::strtoul(s, nullptr, 10));
  std::cerr << "billing_kill_test: seed " << seed
            << " (BILLOW_KILL_SEED=" << seed << " to replay)\n";
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng{seed};
  auto started = std::chrono::steady_clock::now();

  billow::test::temp_dir dir{"billing-kill"};
  auto data = dir.sub("data");
  auto [created, out]
    = run_billow(fmt::format("admin create --email {} --password {} --data {}",
                             admin_email, admin_password, data));
  ASSERT_EQ(created, 0) << out;
  auto srv = start_server(data);
  ASSERT_TRUE(srv->start()) << srv->proc.log();
  std::vector<std::string> client_ids;
  {
    http_connection http{srv->port};
    for (int c = 0; c < clients; ++c) {
      auto reply = http.request(
        "POST", "/api/v1/admin/clients",
        json::serialize(json::object{{"name", fmt::format("Client {}", c)},
                                     {"email", "c@example.com"},
                                     {"currency", "EUR"}}),
        srv->auth);
      ASSERT_EQ(reply.status, 201u) << reply.body;
      client_ids.push_back(str(json::parse(reply.body), "id"));
    }
  }

  std::vector<attempt> all;
  std::set<std::string> committed;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round + 1));
    burst b;
    std::vector<thread_log> logs(threads);
    auto until = std::chrono::steady_clock::now() + 8s;
    std::vector<std::thread> ts;
    ts.reserve(threads);
    for (int t = 0; t < threads; ++t)
      ts.emplace_back(draft_and_issue, std::cref(*srv),
                      std::cref(client_ids[t % clients]), round, t, std::ref(b),
                      std::ref(logs[t]), until);
    // Mid-burst: after its first acknowledged issue, a random moment on.
    auto first_by = std::chrono::steady_clock::now() + 5s;
    while (b.acknowledged == 0 && std::chrono::steady_clock::now() < first_by)
      std::this_thread::sleep_for(1ms);
    auto delay = std::uniform_int_distribution<int>{0, max_kill_delay_ms}(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    int running = b.running;
    b.killed = true;
    srv->proc.stop(SIGKILL);
    for (auto& t : ts)
      t.join();
    EXPECT_GT(b.acknowledged, 0) << srv->proc.log();
    EXPECT_EQ(running, threads) << "the kill came after the burst ended";
    std::vector<attempt> attempts;
    std::map<std::string, std::pair<int, int>> counts; // acknowledged, not
    for (auto& l : logs) {
      for (const auto& u : l.unexpected)
        ADD_FAILURE() << "before the kill: " << u;
      for (auto& a : l.attempts) {
        auto& c = counts[a.what];
        ++(a.acknowledged ? c.first : c.second);
        attempts.push_back(std::move(a));
      }
    }

    srv = start_server(data);
    ASSERT_TRUE(srv->start()) << srv->proc.log();
    auto [replayed, refused, late] = retry(*srv, attempts, committed);
    all.insert(all.end(), attempts.begin(), attempts.end());
    auto total = check_numbering(*srv, all, committed);
    std::string seen;
    for (const auto& [what, c] : counts)
      seen += fmt::format(" {} {}+{},", what, c.first, c.second);
    std::cerr << fmt::format(
      "round {}: killed {} ms after the first issue; acknowledged+unanswered:"
      "{} retried: {} replayed, {} issues refused (409), {} done late; {} "
      "numbers taken in all\n",
      round + 1, delay, seen, replayed, refused, late, total);
    if (HasFailure())
      break;
  }

  auto notes = std::count_if(all.begin(), all.end(), [](const attempt& a) {
    return a.what == "refund" && a.acknowledged;
  });
  EXPECT_GT(notes, 0) << "no credit note was numbered";
  srv->proc.stop(SIGTERM);
  auto [verified, report] = run_billow("verify --data " + data);
  EXPECT_EQ(verified, 0) << report;
  auto took = std::chrono::steady_clock::now() - started;
  std::cerr
    << "billing_kill_test: "
    << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
    << " ms\n";
  EXPECT_LT(took, 60s);
}
