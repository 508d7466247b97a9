// Billing over HTTP as an operator, an accountant and a client use it: tax
// rules and settings, manual invoices issued with gapless numbers, payments
// applied once, refunds as credit notes, the ledger, the client area and the
// invoice PDF read back with pdftotext.

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/api/client_fixture.hpp"
#include "tests/support/prism_proxy.hpp"

namespace billow::test {
namespace {

namespace json = boost::json;

class billing_test : public client_fixture {
protected:
  /// A client in `currency` (and `country`, when given) with a login.
  std::string make_billed_client(const std::string& email,
                                 const std::string& currency,
                                 const std::string& country = {},
                                 const std::string& name = "Zoë Ångström") {
    auto r = call("POST", "/api/v1/admin/clients", {},
                  json::object{{"name", name},
                               {"email", email},
                               {"currency", currency},
                               {"password", "client-password-1"}});
    EXPECT_EQ(r.status, 201u) << r.body;
    auto id = text(r, "id");
    if (!country.empty()) {
      auto put = call("PUT", "/api/v1/admin/clients/" + id, {},
                      json::object{{"country", country}});
      EXPECT_EQ(put.status, 200u) << put.body;
    }
    return id;
  }

  http_reply tax_rule(const json::object& body) {
    return call("POST", "/api/v1/admin/tax-rules", {}, body);
  }

  /// A manual invoice of `amounts`, issued; answers the issued invoice.
  json::object invoice(const std::string& client,
                       std::vector<std::string> amounts) {
    json::array items;
    for (auto& a : amounts)
      items.push_back(json::object{{"description", "Hosting"}, {"amount", a}});
    auto draft = call("POST", "/api/v1/admin/invoices", {},
                      json::object{{"client_id", client}, {"items", items}});
    EXPECT_EQ(draft.status, 201u) << draft.body;
    auto issued
      = call("POST", "/api/v1/admin/invoices/" + text(draft, "id") + "/issue");
    EXPECT_EQ(issued.status, 200u) << issued.body;
    return doc(issued);
  }

  /// The answer to drafting an invoice of one item of `amount`.
  http_reply invoice_body_reply(const std::string& client,
                                const std::string& amount) {
    return call(
      "POST", "/api/v1/admin/invoices", {},
      json::object{{"client_id", client},
                   {"items",
                    json::array{json::object{{"description", "Hosting"},
                                             {"amount", amount}}}}});
  }

  static std::string str(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string{v->as_string()} : std::string{};
  }

  http_reply pay(const std::string& invoice, const std::string& amount,
                 const std::string& txn, const std::string& currency = "EUR") {
    return call("POST", "/api/v1/admin/invoices/" + invoice + "/payments", {},
                json::object{{"amount", amount},
                             {"currency", currency},
                             {"gateway", "bank"},
                             {"transaction_id", txn}});
  }

  /// An invoice taxed (21% NL), numbered, printed, paid five times over,
  /// refunded as a credit note, and listed.
  void invoice_lifecycle() {
    ASSERT_EQ(
      tax_rule(
        {{"name", "VAT"}, {"rate", "21.00"}, {"country", "NL"}, {"level", 1}})
        .status,
      201u);
    auto client = make_billed_client("zoe@example.test", "EUR", "NL");
    auto inv = invoice(client, {"15.00"});
    EXPECT_EQ(str(inv, "status"), "unpaid");
    EXPECT_EQ(str(inv, "subtotal"), "15.00");
    ASSERT_EQ(inv.at("taxes").as_array().size(), 1u);
    EXPECT_EQ(str(inv.at("taxes").as_array()[0].as_object(), "amount"), "3.15");
    EXPECT_EQ(str(inv, "total"), "18.15");
    auto number = str(inv, "number");
    EXPECT_EQ(number, "INV-2026-000001");
    auto id = str(inv, "id");

    // The PDF: the number, the buyer with her non-ASCII letters, the total.
    auto pdf = direct_get("/api/v1/admin/invoices/" + id + "/pdf");
    ASSERT_EQ(pdf.status, 200u) << pdf.body;
    auto printed = pdf_text(pdf);
    EXPECT_NE(printed.find(number), std::string::npos) << printed;
    EXPECT_NE(printed.find("Zoë Ångström"), std::string::npos) << printed;
    EXPECT_NE(printed.find("18.15"), std::string::npos) << printed;

    // Paid five times over: one transaction, and the ledger untouched.
    EXPECT_EQ(pay(id, "18.15", "T-1").status, 201u);
    for (int i = 0; i < 4; ++i) {
      auto again = pay(id, "18.15", "T-1");
      EXPECT_EQ(again.status, 200u) << again.body;
    }
    auto paid = doc(call("GET", "/api/v1/admin/invoices/" + id));
    EXPECT_EQ(str(paid, "status"), "paid");
    EXPECT_EQ(paid.at("transactions").as_array().size(), 1u);
    auto ledger
      = doc(call("GET", "/api/v1/admin/clients/" + client + "/ledger"));
    EXPECT_TRUE(ledger.at("items").as_array().empty());

    // A refund to the balance: a credit note referring to the invoice, split
    // like it (net and VAT add up to the refund), and a ledger credit.
    auto refund = call("POST", "/api/v1/admin/invoices/" + id + "/refunds", {},
                       json::object{{"amount", "12.10"},
                                    {"reason", "downtime"},
                                    {"method", "credit"}});
    ASSERT_EQ(refund.status, 201u) << refund.body;
    auto note = doc(refund);
    EXPECT_EQ(str(note, "type"), "credit_note");
    EXPECT_EQ(str(note, "number"), "CN-2026-000001");
    EXPECT_EQ(str(note, "refers_to"), id);
    EXPECT_EQ(str(note, "subtotal"), "10.00");
    EXPECT_EQ(str(note.at("taxes").as_array()[0].as_object(), "amount"),
              "2.10");
    EXPECT_EQ(str(note, "total"), "12.10");
    auto account
      = doc(call("GET", "/api/v1/admin/clients/" + client + "/account"));
    EXPECT_EQ(str(account, "balance"), "12.10");
    ledger = doc(call("GET", "/api/v1/admin/clients/" + client + "/ledger"));
    ASSERT_EQ(ledger.at("items").as_array().size(), 1u);
    auto entry = ledger.at("items").as_array()[0].as_object();
    EXPECT_EQ(str(entry, "type"), "credit");
    EXPECT_EQ(str(entry, "amount"), "12.10");
    EXPECT_EQ(str(entry, "balance_after"), "12.10");
    auto note_pdf = pdf_text(
      direct_get("/api/v1/admin/invoices/" + str(note, "id") + "/pdf"));
    EXPECT_NE(note_pdf.find("CN-2026-000001"), std::string::npos);
    EXPECT_NE(note_pdf.find(number), std::string::npos) << note_pdf;

    // The list, filtered, once the projection has the refund.
    auto at = refund.header("x-billow-position");
    auto list = doc(call("GET",
                         "/api/v1/admin/invoices?client_id=" + client
                           + "&type=credit_note&min_position=" + at));
    ASSERT_EQ(list.at("items").as_array().size(), 1u);
    EXPECT_EQ(str(list.at("items").as_array()[0].as_object(), "id"),
              str(note, "id"));
  }

  /// An invoice-mode order invoiced at once and created once paid; a
  /// prepaid client's order not invoiced.
  void order_paid_creates_service() {
    auto client = make_billed_client("order@example.test", "EUR");
    auto product
      = call("POST", "/api/v1/admin/products", {},
             json::object{{"name", "Web hosting"},
                          {"prices",
                           json::array{json::object{{"currency", "EUR"},
                                                    {"period", "monthly"},
                                                    {"amount", "9.90"},
                                                    {"setup_fee", "5.00"}}}}});
    ASSERT_EQ(product.status, 201u) << product.body;
    auto order = call("POST", "/api/v1/admin/services", {},
                      json::object{{"client_id", client},
                                   {"product_id", text(product, "id")},
                                   {"period", "monthly"}});
    ASSERT_EQ(order.status, 201u) << order.body;
    EXPECT_EQ(text(order, "status"), "pending");
    auto invoice_id = text(order, "invoice_id");
    ASSERT_FALSE(invoice_id.empty()) << order.body;
    auto inv = doc(call("GET", "/api/v1/admin/invoices/" + invoice_id));
    EXPECT_EQ(str(inv, "status"), "unpaid");
    EXPECT_EQ(str(inv, "purpose"), "order");
    EXPECT_EQ(str(inv, "total"), "14.90");
    EXPECT_EQ(str(inv, "service_id"), text(order, "id"));
    auto items = inv.at("items").as_array();
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(str(items[0].as_object(), "amount"), "9.90");
    EXPECT_FALSE(str(items[0].as_object(), "period_to").empty());
    EXPECT_EQ(str(items[1].as_object(), "amount"), "5.00");
    EXPECT_EQ(str(inv, "due_date"), str(inv, "issue_date"));
    ASSERT_EQ(pay(invoice_id, "14.90", "ORD-1").status, 201u);
    auto svc = settle(text(order, "id"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (str(svc, "status") != "active"
           && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      svc = settle(text(order, "id"));
    }
    EXPECT_EQ(str(svc, "status"), "active") << json::serialize(svc);

    // A prepaid client's order is not invoiced (the billing clock charges it).
    auto prepaid = make_billed_client("pre@example.test", "EUR");
    ASSERT_EQ(call("PUT", "/api/v1/admin/clients/" + prepaid, {},
                   json::object{{"billing_mode", "prepaid"}})
                .status,
              200u);
    auto theirs = call("POST", "/api/v1/admin/services", {},
                       json::object{{"client_id", prepaid},
                                    {"product_id", text(product, "id")}});
    ASSERT_EQ(theirs.status, 201u) << theirs.body;
    EXPECT_TRUE(text(theirs, "invoice_id").empty()) << theirs.body;
    // The client's answer carries its account: balance and billing mode.
    auto shown = call("GET", "/api/v1/admin/clients/" + prepaid);
    EXPECT_EQ(text(shown, "billing_mode"), "prepaid") << shown.body;
    EXPECT_EQ(text(shown, "balance"), "0.00");
  }

  /// GET `target` from the server itself, not through any proxy (a PDF:
  /// Prism, in the contract test, passes bodies on as text).
  http_reply direct_get(const std::string& target) {
    http_connection direct{app_->port(), std::chrono::seconds(30)};
    return direct.request("GET", target, {}, {{"Authorization", owner_}});
  }

  /// The text of a PDF answer as `pdftotext` reads it.
  std::string pdf_text(const http_reply& r) {
    auto path = (dir_.path() / "invoice.pdf").string();
    std::ofstream{path, std::ios::binary} << r.body;
    std::string out;
    auto* p = ::popen(("pdftotext -layout '" + path + "' -").c_str(), "r");
    EXPECT_NE(p, nullptr);
    if (p == nullptr)
      return out;
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0)
      out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0);
    return out;
  }
};

TEST_F(billing_test, an_invoice_is_taxed_numbered_paid_refunded_and_printed) {
  invoice_lifecycle();
}

TEST_F(billing_test, compound_and_inclusive_taxes_add_up_as_by_hand) {
  ASSERT_EQ(tax_rule({{"name", "GST"}, {"rate", "10.00"}, {"level", 1}}).status,
            201u);
  ASSERT_EQ(
    tax_rule(
      {{"name", "PST"}, {"rate", "5.00"}, {"level", 2}, {"compound", true}})
      .status,
    201u);
  auto client = make_billed_client("c@example.test", "EUR");
  // 100.00: 10.00 GST, then 5 % of 110.00 = 5.50 PST, total 115.50.
  auto inv = invoice(client, {"100.00"});
  auto taxes = inv.at("taxes").as_array();
  ASSERT_EQ(taxes.size(), 2u);
  EXPECT_EQ(str(taxes[0].as_object(), "amount"), "10.00");
  EXPECT_EQ(str(taxes[1].as_object(), "amount"), "5.50");
  EXPECT_EQ(str(inv, "total"), "115.50");
  // With prices_include_tax, 115.50 holds the same: net 100.00.
  auto put = call("PUT", "/api/v1/admin/billing/settings", {},
                  json::object{{"prices_include_tax", true}});
  ASSERT_EQ(put.status, 200u) << put.body;
  auto gross = invoice(client, {"115.50"});
  EXPECT_EQ(str(gross, "subtotal"), "100.00");
  EXPECT_EQ(str(gross, "total"), "115.50");
  EXPECT_EQ(str(gross.at("taxes").as_array()[1].as_object(), "amount"), "5.50");
}

TEST_F(billing_test, jpy_and_kwd_invoices_keep_their_minor_units) {
  ASSERT_EQ(tax_rule({{"name", "Tax"}, {"rate", "10.00"}, {"level", 1}}).status,
            201u);
  auto yen = make_billed_client("jp@example.test", "JPY");
  auto inv = invoice(yen, {"1234"});
  EXPECT_EQ(str(inv, "subtotal"), "1234");
  EXPECT_EQ(str(inv.at("taxes").as_array()[0].as_object(), "amount"), "123");
  EXPECT_EQ(str(inv, "total"), "1357");
  EXPECT_EQ(pay(str(inv, "id"), "1357", "J-1", "JPY").status, 201u);
  // Two decimals for yen are wrong, as is an EUR-style amount.
  auto bad = invoice_body_reply(yen, "12.34");
  EXPECT_EQ(bad.status, 422u) << bad.body;
  EXPECT_NE(bad.body.find("items[0].amount"), std::string::npos) << bad.body;

  auto dinar = make_billed_client("kw@example.test", "KWD");
  auto kwd = invoice(dinar, {"1.235"});
  EXPECT_EQ(str(kwd.at("taxes").as_array()[0].as_object(), "amount"), "0.124");
  EXPECT_EQ(str(kwd, "total"), "1.359");
  EXPECT_EQ(str(kwd, "amount_due"), "1.359");
}

TEST_F(billing_test, bad_input_is_refused_and_changes_nothing) {
  auto client = make_billed_client("bad@example.test", "EUR");
  auto inv = invoice(client, {"10.00"});
  auto id = str(inv, "id");
  auto before = log_position();
  struct bad_request {
    const char* what;
    http_reply reply;
    unsigned status;
    const char* field;
  };
  auto target = "/api/v1/admin/invoices/" + id;
  std::vector<bad_request> cases;
  cases.push_back({"amount as a JSON number",
                   call("POST", target + "/payments", {},
                        json::object{{"amount", 10.0},
                                     {"currency", "EUR"},
                                     {"gateway", "bank"},
                                     {"transaction_id", "X"}}),
                   422, "amount"});
  cases.push_back(
    {"three decimals for EUR", pay(id, "10.000", "X"), 422, "amount"});
  cases.push_back({"negative payment", pay(id, "-1.00", "X"), 422, "amount"});
  cases.push_back(
    {"wrong currency", pay(id, "10.00", "X", "USD"), 422, "currency"});
  cases.push_back({"unknown field",
                   call("POST", target + "/payments", {},
                        json::object{{"amount", "10.00"},
                                     {"currency", "EUR"},
                                     {"gateway", "bank"},
                                     {"transaction_id", "X"},
                                     {"colour", "red"}}),
                   422, "colour"});
  cases.push_back({"unknown invoice",
                   pay("00000000-0000-4000-8000-000000000000", "1.00", "X"),
                   404, nullptr});
  cases.push_back(
    {"refund above what was paid",
     call(
       "POST", target + "/refunds", {},
       json::object{{"amount", "1.00"}, {"reason", "r"}, {"method", "credit"}}),
     422, "amount"});
  cases.push_back({"a reader pays",
                   call("POST", target + "/payments", reader_,
                        json::object{{"amount", "10.00"},
                                     {"currency", "EUR"},
                                     {"gateway", "bank"},
                                     {"transaction_id", "X"}}),
                   403, nullptr});
  cases.push_back({"unknown settings key",
                   call("PUT", "/api/v1/admin/billing/settings", {},
                        json::object{{"invoice_colour", "red"}}),
                   422, "invoice_colour"});
  cases.push_back({"tax rate as a number",
                   tax_rule({{"name", "VAT"}, {"rate", 21}, {"level", 1}}), 422,
                   "rate"});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(c.reply.status, c.status) << c.reply.body;
    EXPECT_NE(c.reply.header("content-type").find("application/problem+json"),
              std::string::npos);
    if (c.field != nullptr) {
      EXPECT_NE(c.reply.body.find(std::string{"\""} + c.field),
                std::string::npos)
        << c.reply.body;
    }
  }
  EXPECT_EQ(log_position(), before);

  // A cancelled invoice takes no payment.
  ASSERT_EQ(call("POST", target + "/cancel", {},
                 json::object{{"reason", "duplicate"}})
              .status,
            200u);
  before = log_position();
  auto late = pay(id, "10.00", "Y");
  EXPECT_EQ(late.status, 409u) << late.body;
  EXPECT_EQ(log_position(), before);
}

TEST_F(billing_test, a_client_sees_only_its_own_invoices_and_adds_funds) {
  auto alice = make_billed_client("alice@example.test", "EUR", {}, "Alice");
  auto bob = make_billed_client("bob@example.test", "EUR", {}, "Bob");
  auto hers = invoice(alice, {"20.00"});
  auto his = invoice(bob, {"30.00"});
  auto token = login("client", "alice@example.test", "client-password-1");
  auto mine = call("GET",
                   "/api/v1/client/invoices?min_position="
                     + std::to_string(log_position()),
                   token);
  ASSERT_EQ(mine.status, 200u) << mine.body;
  auto items = doc(mine).at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(str(items[0].as_object(), "id"), str(hers, "id"));
  EXPECT_EQ(
    call("GET", "/api/v1/client/invoices/" + str(his, "id"), token).status,
    404u);
  EXPECT_EQ(call("GET", "/api/v1/client/invoices/" + str(his, "id") + "/pdf",
                 token)
              .status,
            404u);
  auto own_pdf
    = call("GET", "/api/v1/client/invoices/" + str(hers, "id") + "/pdf", token);
  ASSERT_EQ(own_pdf.status, 200u);
  EXPECT_NE(pdf_text(own_pdf).find(str(hers, "number")), std::string::npos);

  // Add funds: a proforma; paid, the balance has the money and a paid
  // invoice with its own number is issued for it.
  auto proforma = call("POST", "/api/v1/client/add-funds", token,
                       json::object{{"amount", "50.00"}});
  ASSERT_EQ(proforma.status, 201u) << proforma.body;
  EXPECT_EQ(text(proforma, "type"), "proforma");
  EXPECT_EQ(text(proforma, "number"), "PRO-2026-000001");
  auto paid = pay(text(proforma, "id"), "50.00", "B-1");
  ASSERT_EQ(paid.status, 201u) << paid.body;
  EXPECT_EQ(text(paid, "status"), "paid");
  auto receipt
    = call("GET", "/api/v1/client/invoices/" + text(paid, "invoice_id"), token);
  ASSERT_EQ(receipt.status, 200u) << receipt.body;
  EXPECT_EQ(text(receipt, "status"), "paid");
  EXPECT_EQ(text(receipt, "number"), "INV-2026-000003");
  auto account = call("GET", "/api/v1/client/account", token);
  EXPECT_EQ(text(account, "balance"), "50.00") << account.body;
  // The balance pays her next invoice at once (apply_credit is on).
  auto next = invoice(alice, {"20.00"});
  EXPECT_EQ(str(next, "status"), "paid");
  EXPECT_EQ(str(next, "credit_applied"), "20.00");
}

TEST_F(billing_test, settings_number_the_next_invoices) {
  auto settings = doc(call("GET", "/api/v1/admin/billing/settings"));
  EXPECT_EQ(str(settings, "default_mode"), "invoice");
  EXPECT_EQ(settings.at("invoice_days_in_advance").as_int64(), 14);
  auto put = call(
    "PUT", "/api/v1/admin/billing/settings", {},
    json::object{{"number_formats", json::object{{"invoice", "F{YY}/{NNNN}"}}},
                 {"company",
                  json::object{{"name", "Hosting Ltd"}, {"tax_id", "NL123"}}}});
  ASSERT_EQ(put.status, 200u) << put.body;
  auto client = make_billed_client("s@example.test", "EUR");
  auto inv = invoice(client, {"5.00"});
  EXPECT_EQ(str(inv, "number"), "F26/0001");
  EXPECT_EQ(str(inv.at("seller").as_object(), "name"), "Hosting Ltd");
  // A stale If-Match is refused.
  std::vector<std::pair<std::string, std::string>> headers{
    {"Authorization", owner_}, {"If-Match", "0"}};
  auto stale = conn_->request(
    "PUT", "/api/v1/admin/billing/settings",
    json::serialize(json::object{{"apply_credit", false}}), headers);
  EXPECT_EQ(stale.status, 412u) << stale.body;
}

TEST_F(billing_test, an_exempt_client_with_a_tax_id_is_reverse_charged) {
  ASSERT_EQ(
    tax_rule(
      {{"name", "VAT"}, {"rate", "21.00"}, {"country", "DE"}, {"level", 1}})
      .status,
    201u);
  auto client = make_billed_client("de@example.test", "EUR", "DE");
  ASSERT_EQ(call("PUT", "/api/v1/admin/clients/" + client, {},
                 json::object{{"tax_exempt", true}, {"tax_id", "DE811"}})
              .status,
            200u);
  auto inv = invoice(client, {"100.00"});
  EXPECT_TRUE(inv.at("reverse_charge").as_bool());
  EXPECT_TRUE(inv.at("taxes").as_array().empty());
  EXPECT_EQ(str(inv, "total"), "100.00");
  EXPECT_EQ(str(inv.at("buyer").as_object(), "tax_id"), "DE811");
  auto printed = pdf_text(
    call("GET", "/api/v1/admin/invoices/" + str(inv, "id") + "/pdf"));
  EXPECT_NE(printed.find("everse charge"), std::string::npos) << printed;
}

} // namespace
} // namespace billow::test

namespace billow::test {
namespace {

// Invoices are kept for tax law: erasing their client shreds the buyer's
// name and email on them, while amounts and numbers stay as issued.
TEST_F(billing_test, an_erased_clients_invoices_keep_amounts_and_numbers) {
  auto client = make_billed_client("gone@example.test", "EUR", {}, "Ida Gone");
  auto inv = invoice(client, {"42.00"});
  ASSERT_EQ(pay(str(inv, "id"), "42.00", "E-1").status, 201u);
  auto erased = call("POST", "/api/v1/admin/clients/" + client + "/erase", {},
                     json::object{{"reason", "GDPR request"}});
  ASSERT_EQ(erased.status, 200u) << erased.body;
  auto after = doc(call("GET", "/api/v1/admin/invoices/" + str(inv, "id")));
  EXPECT_EQ(str(after.at("buyer").as_object(), "name"), "[erased]");
  EXPECT_EQ(str(after.at("buyer").as_object(), "email"), "[erased]");
  EXPECT_EQ(str(after, "number"), str(inv, "number"));
  EXPECT_EQ(str(after, "total"), "42.00");
  EXPECT_EQ(str(after, "status"), "paid");
  auto printed = pdf_text(
    call("GET", "/api/v1/admin/invoices/" + str(inv, "id") + "/pdf"));
  EXPECT_EQ(printed.find("Ida Gone"), std::string::npos) << printed;
  EXPECT_NE(printed.find("42.00"), std::string::npos);
  // An erased client is invoiced no more.
  auto refused = invoice_body_reply(client, "1.00");
  EXPECT_EQ(refused.status, 409u) << refused.body;
}

} // namespace
} // namespace billow::test

namespace billow::test {
namespace {

// An invoice-mode client's order issues the first invoice (first period and
// setup fee, due now); paying it creates the service.
TEST_F(billing_test, an_order_is_invoiced_and_created_once_paid) {
  order_paid_creates_service();
}

} // namespace
} // namespace billow::test

namespace billow::test {
namespace {

// The same scenarios through Prism, a validating proxy, in front of the
// server: every request and every answer must match the served OpenAPI
// document (the invoice, account, ledger and request bodies it types).
class billing_contract_test : public billing_test {
protected:
  void SetUp() override {
    billing_test::SetUp();
    auto doc = call("GET", "/api/v1/openapi.json");
    ASSERT_EQ(doc.status, 200u);
    auto file = dir_.path() / "openapi.json";
    std::ofstream{file} << doc.body;
    prism_ = std::make_unique<prism_proxy>(BILLOW_NODE_TOOLS, file,
                                           app_->port());
    conn_ = std::make_unique<http_connection>(prism_->port(),
                                              std::chrono::seconds(30));
  }

  void TearDown() override {
    if (prism_) {
      auto log = prism_->log();
      EXPECT_EQ(log.find("prism/errors"), std::string::npos) << log;
      EXPECT_EQ(log.find("Violation"), std::string::npos) << log;
    }
    conn_.reset();
    prism_.reset();
    billing_test::TearDown();
  }

  std::unique_ptr<prism_proxy> prism_;
};

TEST_F(billing_contract_test, an_invoice_lifecycle_keeps_to_the_contract) {
  invoice_lifecycle();
}

TEST_F(billing_contract_test, an_order_keeps_to_the_contract) {
  order_paid_creates_service();
}

} // namespace
} // namespace billow::test
