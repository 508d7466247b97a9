// The billing aggregates as their callers see them: commands to the
// registry, answers with the invoice or account they left, and the log.

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "actors/billing/billing.hpp"
#include "tests/actors/runtime_fixture.hpp"

namespace billow::test {
namespace {

namespace json = boost::json;
using billing::billing_command;
using billing::billing_reply;

class billing_actor_test : public runtime_fixture {
protected:
  void SetUp() override {
    runtime_fixture::SetUp();
    billing::billing_options opts;
    opts.on_order_paid = [this](const std::string& service,
                                const std::string&) {
      std::lock_guard<std::mutex> guard{mtx};
      paid_orders.push_back(service);
    };
    registry = billing::make_billing_registry(*sys, ctx, std::move(opts));
  }

  void TearDown() override {
    self()->send_exit(registry, caf::exit_reason::kill);
    self()->wait_for(registry);
    registry = nullptr;
    runtime_fixture::TearDown();
  }

  /// A client stream as POST /clients writes it.
  events::uuid make_client(const std::string& currency = "EUR") {
    auto id = events::uuid::random();
    events::new_event ev;
    ev.event_id = events::uuid::random();
    ev.type = "client.created";
    ev.schema = 2;
    ev.actor = "test";
    ev.payload = json::serialize(json::object{{"name", "Zoë Ångström"},
                                              {"email", "zoe@example.org"},
                                              {"currency", currency},
                                              {"login", false}});
    auto r = store->append("client-" + events::to_string(id),
                           events::expected_version::no_stream(), {ev});
    EXPECT_TRUE(r);
    return id;
  }

  /// Runs `cmd` and waits for its answer; safe from any thread (each call
  /// has its own scoped actor).
  caf::expected<json::object> run(billing_command cmd) {
    caf::scoped_actor me{*sys};
    caf::expected<json::object> out = make_error(billow_errc::timeout,
                                                 "no answer");
    me->request(registry, std::chrono::seconds(10),
                billing::billing_cmd_atom::value, std::move(cmd))
      .receive(
        [&](billing_reply& r) {
          out = json::parse(r.body).as_object();
        },
        [&](caf::error& err) {
          out = std::move(err);
        });
    return out;
  }

  caf::expected<json::object> on_client(const events::uuid& client,
                                        std::string op, json::object body,
                                        events::uuid invoice = {}) {
    billing_command cmd;
    cmd.op = std::move(op);
    cmd.client_id = client;
    cmd.invoice_id = invoice;
    cmd.body = json::serialize(body);
    return run(std::move(cmd));
  }

  caf::expected<json::object> on_invoice(const events::uuid& invoice,
                                         std::string op, json::object body) {
    billing_command cmd;
    cmd.op = std::move(op);
    cmd.invoice_id = invoice;
    cmd.body = json::serialize(body);
    return run(std::move(cmd));
  }

  /// A manual invoice of `amounts` (minor units), issued.
  events::uuid issued_invoice(const events::uuid& client,
                              std::vector<int64_t> amounts,
                              const char* currency = "EUR") {
    json::array items;
    for (auto a : amounts)
      items.push_back(json::object{{"description", "Hosting"},
                                   {"amount", eur(a, currency)},
                                   {"taxed", true}});
    auto id = events::uuid::random();
    auto drafted = on_client(client, "invoice.create", {{"items", items}}, id);
    EXPECT_TRUE(drafted) << to_string(drafted.error());
    auto issued = on_invoice(id, "invoice.issue", {});
    EXPECT_TRUE(issued) << to_string(issued.error());
    return id;
  }

  /// Minor units of `currency` as an API string.
  static std::string eur(int64_t minor, const char* currency = "EUR") {
    return billing::format_amount(minor, *billing::find_currency(currency));
  }

  static std::string text(const json::object& o, const char* key) {
    if (auto* v = o.if_contains(key); v && v->is_string())
      return std::string{v->as_string()};
    return {};
  }

  billing::billing_registry_actor registry;
  std::mutex mtx;
  std::vector<std::string> paid_orders;
};

TEST_F(billing_actor_test, a_draft_is_issued_with_the_first_number) {
  auto client = make_client();
  auto id = events::uuid::random();
  auto draft = on_client(
    client, "invoice.create",
    {{"items",
      json::array{json::object{
        {"description", "VPS"}, {"amount", "15.00"}, {"taxed", true}}}}},
    id);
  ASSERT_TRUE(draft) << to_string(draft.error());
  EXPECT_EQ(text(*draft, "status"), "draft");
  EXPECT_TRUE(draft->at("number").is_null());
  auto issued = on_invoice(id, "invoice.issue", {});
  ASSERT_TRUE(issued) << to_string(issued.error());
  EXPECT_EQ(text(*issued, "status"), "unpaid");
  EXPECT_EQ(issued->at("sequence").to_number<uint64_t>(), 1u);
  EXPECT_EQ(text(*issued, "number").substr(0, 4), "INV-");
  EXPECT_EQ(text(*issued, "total"), "15.00");
  EXPECT_EQ(text(*issued, "amount_due"), "15.00");
  EXPECT_EQ(text(issued->at("buyer").as_object(), "name"), "Zoë Ångström");
  // Issuing again is refused and writes nothing.
  auto before = store->last_position();
  auto again = on_invoice(id, "invoice.issue", {});
  ASSERT_FALSE(again);
  EXPECT_EQ(errc_of(again.error()), billow_errc::invalid_transition);
  EXPECT_EQ(store->last_position(), before);
}

TEST_F(billing_actor_test, the_same_payment_five_times_is_one_transaction) {
  auto client = make_client();
  auto id = issued_invoice(client, {1500});
  json::object pay{
    {"amount", "15.00"}, {"gateway", "bank"}, {"transaction_id", "T-1"}};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] {
      if (on_invoice(id, "invoice.pay", pay))
        ++ok;
    });
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < 2; ++i)
    if (on_invoice(id, "invoice.pay", pay))
      ++ok;
  EXPECT_EQ(ok.load(), 5);
  auto inv = on_invoice(id, "invoice.get", {});
  ASSERT_TRUE(inv);
  EXPECT_EQ(text(*inv, "status"), "paid");
  EXPECT_EQ(inv->at("transactions").as_array().size(), 1u);
  // Paid in full by a payment: the ledger (the balance account) is untouched.
  auto acc = on_client(client, "account.get", {});
  ASSERT_TRUE(acc);
  EXPECT_EQ(text(*acc, "balance"), "0.00");
  EXPECT_EQ(acc->at("ledger_entries").to_number<uint64_t>(), 0u);
}

TEST_F(billing_actor_test, an_overpayment_is_credited_to_the_balance) {
  auto client = make_client();
  auto id = issued_invoice(client, {1000});
  auto paid = on_invoice(
    id, "invoice.pay",
    {{"amount", "12.50"}, {"gateway", "bank"}, {"transaction_id", "T-2"}});
  ASSERT_TRUE(paid) << to_string(paid.error());
  EXPECT_EQ(text(*paid, "status"), "paid");
  EXPECT_EQ(text(*paid, "amount_paid"), "10.00");
  auto acc = on_client(client, "account.get", {});
  ASSERT_TRUE(acc);
  EXPECT_EQ(text(*acc, "balance"), "2.50");
  // The balance pays the next invoice at once.
  auto next = issued_invoice(client, {200});
  auto inv = on_invoice(next, "invoice.get", {});
  ASSERT_TRUE(inv);
  EXPECT_EQ(text(*inv, "status"), "paid");
  EXPECT_EQ(text(*inv, "credit_applied"), "2.00");
  acc = on_client(client, "account.get", {});
  EXPECT_EQ(text(*acc, "balance"), "0.50");
}

// One bank transfer can pay two invoices: the same (gateway, transaction id)
// on another invoice is another payment, its overpayment credited too.
TEST_F(billing_actor_test, one_transaction_on_two_invoices_is_two_payments) {
  auto client = make_client();
  auto a = issued_invoice(client, {1000});
  auto b = issued_invoice(client, {1000});
  json::object pay{
    {"amount", "15.00"}, {"gateway", "bank"}, {"transaction_id", "SAME"}};
  ASSERT_TRUE(on_invoice(a, "invoice.pay", pay));
  auto second = run([&] {
    billing_command cmd;
    cmd.op = "invoice.pay";
    cmd.invoice_id = b;
    cmd.body = json::serialize(pay);
    return cmd;
  }());
  ASSERT_TRUE(second) << to_string(second.error());
  EXPECT_EQ(text(*second, "status"), "paid");
  auto acc = on_client(client, "account.get", {});
  EXPECT_EQ(text(*acc, "balance"), "10.00");
  EXPECT_EQ(acc->at("ledger_entries").to_number<uint64_t>(), 2u);
}

TEST_F(billing_actor_test, two_invoices_against_a_balance_for_one) {
  auto client = make_client();
  // Issued before the balance exists, so neither is paid at issue.
  auto a = issued_invoice(client, {800});
  auto b = issued_invoice(client, {800});
  ASSERT_TRUE(on_client(client, "account.adjust",
                        {{"amount", "10.00"}, {"reason", "goodwill"}}));
  std::atomic<int> paid{0}, short_of_funds{0};
  std::vector<std::thread> threads;
  for (auto id : {a, b})
    threads.emplace_back([&, id] {
      auto r = on_invoice(id, "invoice.apply_credit", {});
      if (r)
        ++paid;
      else if (errc_of(r.error()) == billow_errc::insufficient_funds)
        ++short_of_funds;
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(paid.load(), 1);
  EXPECT_EQ(short_of_funds.load(), 1);
  auto acc = on_client(client, "account.get", {});
  EXPECT_EQ(text(*acc, "balance"), "2.00");
}

TEST_F(billing_actor_test, the_balance_never_goes_below_minus_the_limit) {
  // Property: random adjustments from several threads; afterwards the
  // balance is the sum of the entries and was never below -credit_limit.
  auto client = make_client();
  ASSERT_TRUE(on_client(client, "account.update", {{"credit_limit", "5.00"}}));
  uint32_t seed = 20261207;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng{seed + static_cast<uint32_t>(t)};
      std::uniform_int_distribution<int64_t> amount{-400, 300};
      for (int i = 0; i < 40; ++i) {
        auto a = amount(rng);
        if (a == 0)
          continue;
        (void)on_client(client, "account.adjust",
                        {{"amount", eur(a)}, {"reason", "property"}});
      }
    });
  for (auto& t : threads)
    t.join();
  auto evs = store->read_stream("account-" + events::to_string(client), 1,
                                events::read_direction::forward, SIZE_MAX);
  ASSERT_TRUE(evs);
  int64_t sum = 0;
  for (const auto& ev : *evs) {
    auto p = json::parse(ev.payload).as_object();
    if (!ev.type.starts_with("ledger."))
      continue;
    sum += p.at("amount").as_int64();
    EXPECT_EQ(p.at("balance_after").as_int64(), sum);
    EXPECT_GE(sum, -500);
  }
  auto acc = on_client(client, "account.get", {});
  ASSERT_TRUE(acc);
  const auto* eur = billing::find_currency("EUR");
  EXPECT_EQ(text(*acc, "balance"), billing::format_amount(sum, *eur));
}

TEST_F(billing_actor_test, numbers_have_no_gap_under_concurrent_issues) {
  std::vector<events::uuid> clients;
  for (int i = 0; i < 8; ++i)
    clients.push_back(make_client());
  std::vector<std::thread> threads;
  for (auto c : clients)
    threads.emplace_back([&, c] {
      for (int i = 0; i < 5; ++i)
        issued_invoice(c, {100 + i});
    });
  for (auto& t : threads)
    t.join();
  auto evs = store->read_stream("series-invoice", 1,
                                events::read_direction::forward, SIZE_MAX);
  ASSERT_TRUE(evs);
  ASSERT_EQ(evs->size(), 40u);
  std::set<std::string> invoices;
  for (size_t i = 0; i < evs->size(); ++i) {
    auto p = json::parse((*evs)[i].payload).as_object();
    EXPECT_EQ(p.at("sequence").to_number<uint64_t>(), i + 1);
    invoices.insert(std::string{p.at("invoice_id").as_string()});
    // The invoice carries the number its series gave it.
    auto inv = on_invoice(
      *events::uuid::parse(std::string{p.at("invoice_id").as_string()}),
      "invoice.get", {});
    ASSERT_TRUE(inv);
    EXPECT_EQ(inv->at("sequence").to_number<uint64_t>(), i + 1);
  }
  EXPECT_EQ(invoices.size(), 40u);
}

TEST_F(billing_actor_test, a_refund_is_a_credit_note_that_adds_up) {
  auto client = make_client("KWD");
  auto id = issued_invoice(client, {1235}, "KWD");
  ASSERT_TRUE(on_invoice(
    id, "invoice.pay",
    {{"amount", "1.235"}, {"gateway", "cash"}, {"transaction_id", "C-1"}}));
  auto note_id = events::to_string(events::uuid::random());
  // More than was paid: refused, nothing written.
  auto before = store->last_position();
  auto too_much = on_invoice(
    id, "invoice.refund",
    {{"amount", "1.236"}, {"method", "credit"}, {"credit_note_id", note_id}});
  ASSERT_FALSE(too_much);
  EXPECT_EQ(errc_of(too_much.error()), billow_errc::invalid_argument);
  EXPECT_EQ(store->last_position(), before);
  // A gateway refund without a gateway that can refund: 409.
  auto by_gateway = on_invoice(
    id, "invoice.refund",
    {{"amount", "0.100"}, {"method", "gateway"}, {"credit_note_id", note_id}});
  ASSERT_FALSE(by_gateway);
  EXPECT_EQ(errc_of(by_gateway.error()), billow_errc::invalid_transition);
  auto note = on_invoice(id, "invoice.refund",
                         {{"amount", "0.500"},
                          {"method", "credit"},
                          {"reason", "downtime"},
                          {"credit_note_id", note_id}});
  ASSERT_TRUE(note) << to_string(note.error());
  EXPECT_EQ(text(*note, "type"), "credit_note");
  EXPECT_EQ(text(*note, "total"), "0.500");
  EXPECT_EQ(text(*note, "refers_to"), events::to_string(id));
  EXPECT_EQ(text(*note, "number").substr(0, 3), "CN-");
  auto acc = on_client(client, "account.get", {});
  EXPECT_EQ(text(*acc, "balance"), "0.500");
  auto inv = on_invoice(id, "invoice.get", {});
  EXPECT_EQ(text(*inv, "amount_refunded"), "0.500");
  EXPECT_EQ(text(*inv, "status"), "paid");
}

TEST_F(billing_actor_test, add_funds_pays_into_the_balance_with_a_receipt) {
  auto client = make_client("JPY");
  auto id = events::uuid::random();
  auto proforma = on_client(client, "add_funds", {{"amount", "5000"}}, id);
  ASSERT_TRUE(proforma) << to_string(proforma.error());
  EXPECT_EQ(text(*proforma, "type"), "proforma");
  EXPECT_EQ(text(*proforma, "total"), "5000");
  EXPECT_EQ(text(*proforma, "number").substr(0, 4), "PRO-");
  auto paid = on_invoice(
    id, "invoice.pay",
    {{"amount", "5000"}, {"gateway", "bank"}, {"transaction_id", "B-9"}});
  ASSERT_TRUE(paid) << to_string(paid.error());
  EXPECT_EQ(text(*paid, "status"), "paid");
  auto receipt_id = text(*paid, "invoice_id");
  ASSERT_FALSE(receipt_id.empty());
  auto receipt = on_invoice(*events::uuid::parse(receipt_id), "invoice.get",
                            {});
  ASSERT_TRUE(receipt);
  EXPECT_EQ(text(*receipt, "status"), "paid");
  EXPECT_EQ(text(*receipt, "number").substr(0, 4), "INV-");
  auto acc = on_client(client, "account.get", {});
  EXPECT_EQ(text(*acc, "balance"), "5000");
}

TEST_F(billing_actor_test, an_order_invoice_paid_creates_its_service) {
  auto client = make_client();
  auto id = events::uuid::random();
  auto order = on_client(client, "invoice.order",
                         {{"service_id", "svc-1"},
                          {"product_name", "VPS"},
                          {"period", "monthly"},
                          {"amount", "9.90"},
                          {"setup_fee", "5.00"}},
                         id);
  ASSERT_TRUE(order) << to_string(order.error());
  EXPECT_EQ(text(*order, "status"), "unpaid");
  EXPECT_EQ(text(*order, "purpose"), "order");
  EXPECT_EQ(text(*order, "total"), "14.90");
  auto first = order->at("items").as_array()[0].as_object();
  EXPECT_EQ(text(first, "period_from"), billing::date_of(clock.now_us()));
  EXPECT_FALSE(text(first, "period_to").empty());
  ASSERT_TRUE(on_invoice(
    id, "invoice.pay",
    {{"amount", "14.90"}, {"gateway", "bank"}, {"transaction_id", "O-1"}}));
  std::lock_guard<std::mutex> guard{mtx};
  ASSERT_EQ(paid_orders.size(), 1u);
  EXPECT_EQ(paid_orders[0], "svc-1");
}

TEST_F(billing_actor_test, cancel_only_unpaid_without_payments) {
  auto client = make_client();
  auto id = issued_invoice(client, {1000});
  ASSERT_TRUE(on_invoice(
    id, "invoice.pay",
    {{"amount", "1.00"}, {"gateway", "bank"}, {"transaction_id", "P-1"}}));
  auto refused = on_invoice(id, "invoice.cancel", {{"reason", "x"}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(errc_of(refused.error()), billow_errc::invalid_transition);
  auto other = issued_invoice(client, {1000});
  auto cancelled = on_invoice(other, "invoice.cancel", {{"reason", "dup"}});
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(text(*cancelled, "status"), "cancelled");
  auto pay = on_invoice(
    other, "invoice.pay",
    {{"amount", "10.00"}, {"gateway", "bank"}, {"transaction_id", "P-2"}});
  ASSERT_FALSE(pay);
  EXPECT_EQ(errc_of(pay.error()), billow_errc::invalid_transition);
}

TEST_F(billing_actor_test, another_clients_invoice_is_not_found) {
  auto alice = make_client();
  auto bob = make_client();
  auto id = issued_invoice(alice, {1000});
  billing_command cmd;
  cmd.op = "invoice.get";
  cmd.invoice_id = id;
  cmd.owner = bob;
  auto r = run(cmd);
  ASSERT_FALSE(r);
  EXPECT_EQ(errc_of(r.error()), billow_errc::not_found);
}

} // namespace
} // namespace billow::test
