// Invoice PDFs rendered with Cairo and Pango, read back with poppler's
// pdftotext and pdfinfo (subprocesses on a temporary file).

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "billing_document/invoice_pdf.hpp"
#include "events/errc.hpp"
#include "tests/support/temp_dir.hpp"

using namespace billow;
using namespace billow::billing;

namespace {

/// The standard output of `command` (run by the shell) and its exit status.
std::pair<std::string, int> run(const std::string& command) {
  std::string out;
  auto* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    return {out, -1};
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
    out.append(buf, n);
  int status = ::pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

/// True when fontconfig has a font for Japanese (Debian's
/// fonts-droid-fallback, say); DejaVu Sans has no CJK glyphs.
bool have_cjk_font() {
  auto [out, rc] = run("fc-list :lang=ja family 2>/dev/null");
  return rc == 0 && !out.empty();
}

invoice_document sample_invoice() {
  invoice_document d;
  d.title = "Invoice";
  d.number = "INV-2026-000042";
  d.issue_date = "2026-01-01";
  d.due_date = "2026-01-15";
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
  d.lines = {{"VPS Large (4 vCPU, 8 GB)", "2026-01-01 – 2026-01-31", "40.00"},
             {"Setup fee", std::nullopt, "10.00"}};
  d.subtotal = "50.00";
  d.taxes = {{"VAT", "23%", "11.50"}};
  d.total = "61.50";
  d.amount_paid = "0.00";
  d.amount_due = "61.50";
  return d;
}

class invoice_pdf_test : public ::testing::Test {
protected:
  /// Renders `doc` (asserting success) and writes it to a temporary file.
  std::string render_to_file(const invoice_document& doc,
                             const std::string& name = "invoice.pdf") {
    auto pdf = render_invoice_pdf(doc);
    EXPECT_TRUE(pdf) << to_string(pdf.error());
    auto path = dir_.sub(name);
    std::ofstream{path, std::ios::binary} << (pdf ? *pdf : std::string{});
    return path;
  }

  /// The document's text as `pdftotext -layout` reads it.
  std::string text_of(const invoice_document& doc) {
    auto [out, rc] = run("pdftotext -layout '" + render_to_file(doc) + "' -");
    EXPECT_EQ(rc, 0);
    return out;
  }

  /// The page count `pdfinfo` reports.
  int pages_of(const invoice_document& doc) {
    auto [out, rc] = run("pdfinfo '" + render_to_file(doc) + "'");
    EXPECT_EQ(rc, 0);
    auto at = out.find("Pages:");
    if (at == std::string::npos)
      return -1;
    return std::stoi(out.substr(at + 6));
  }

  test::temp_dir dir_{"billing-document"};
};

TEST_F(invoice_pdf_test, output_is_a_pdf) {
  auto pdf = render_invoice_pdf(sample_invoice());
  ASSERT_TRUE(pdf) << to_string(pdf.error());
  EXPECT_EQ(pdf->rfind("%PDF-", 0), 0u);
  EXPECT_NE(pdf->find("%%EOF"), std::string::npos);
}

TEST_F(invoice_pdf_test, prints_number_seller_buyer_and_items) {
  auto text = text_of(sample_invoice());
  EXPECT_NE(text.find("Invoice"), std::string::npos) << text;
  EXPECT_NE(text.find("INV-2026-000042"), std::string::npos) << text;
  EXPECT_NE(text.find("Billow Hosting GmbH"), std::string::npos) << text;
  EXPECT_NE(text.find("Hauptstraße 1"), std::string::npos) << text;
  EXPECT_NE(text.find("DE123456789"), std::string::npos) << text;
  EXPECT_NE(text.find("VPS Large (4 vCPU, 8 GB)"), std::string::npos) << text;
  EXPECT_NE(text.find("2026-01-01 – 2026-01-31"), std::string::npos) << text;
  EXPECT_NE(text.find("2026-01-15"), std::string::npos) << text;
}

TEST_F(invoice_pdf_test, buyer_name_and_address_keep_their_accents) {
  auto text = text_of(sample_invoice());
  EXPECT_NE(text.find("Zoë Ångström-Müller"), std::string::npos) << text;
  EXPECT_NE(text.find("90-001 Łódź"), std::string::npos) << text;
}

TEST_F(invoice_pdf_test, cjk_text_is_rendered_with_a_fallback_font) {
  // scripts/setup installs fonts-droid-fallback: without it this fails.
  ASSERT_TRUE(have_cjk_font())
    << "no font for Japanese installed (scripts/setup installs "
       "fonts-droid-fallback)";
  auto doc = sample_invoice();
  doc.buyer.address = {"東京都千代田区", "東京"};
  auto text = text_of(doc);
  EXPECT_NE(text.find("東京都千代田区"), std::string::npos) << text;
}

TEST_F(invoice_pdf_test, prints_subtotal_taxes_and_total) {
  auto doc = sample_invoice();
  doc.taxes.push_back({"City tax", "1%", "0.50"});
  doc.total = "62.00";
  doc.amount_due = "62.00";
  auto text = text_of(doc);
  EXPECT_NE(text.find("Subtotal"), std::string::npos) << text;
  EXPECT_NE(text.find("50.00"), std::string::npos) << text;
  EXPECT_NE(text.find("VAT 23%"), std::string::npos) << text;
  EXPECT_NE(text.find("11.50"), std::string::npos) << text;
  EXPECT_NE(text.find("City tax 1%"), std::string::npos) << text;
  EXPECT_NE(text.find("0.50"), std::string::npos) << text;
  EXPECT_NE(text.find("Total"), std::string::npos) << text;
  EXPECT_NE(text.find("62.00"), std::string::npos) << text;
  EXPECT_NE(text.find("Amount due"), std::string::npos) << text;
}

TEST_F(invoice_pdf_test, reverse_charge_invoice_says_so) {
  auto doc = sample_invoice();
  doc.taxes.clear();
  doc.total = doc.amount_due = "50.00";
  doc.reverse_charge = true;
  auto text = text_of(doc);
  EXPECT_NE(text.find("Reverse charge: VAT to be accounted for by the "
                      "recipient"),
            std::string::npos)
    << text;
}

TEST_F(invoice_pdf_test, invoice_without_reverse_charge_has_no_such_note) {
  auto text = text_of(sample_invoice());
  EXPECT_EQ(text.find("Reverse charge"), std::string::npos) << text;
}

TEST_F(invoice_pdf_test, credit_note_names_the_invoice_it_credits) {
  auto doc = sample_invoice();
  doc.title = "Credit note";
  doc.number = "CN-2026-000003";
  doc.refers_to = "INV-2026-000042";
  doc.status = "refunded";
  auto text = text_of(doc);
  EXPECT_NE(text.find("Credit note"), std::string::npos) << text;
  EXPECT_NE(text.find("CN-2026-000003"), std::string::npos) << text;
  EXPECT_NE(text.find("Credits invoice"), std::string::npos) << text;
  EXPECT_NE(text.find("INV-2026-000042"), std::string::npos) << text;
}

TEST_F(invoice_pdf_test, prints_payments_and_paid_date) {
  auto doc = sample_invoice();
  doc.status = "paid";
  doc.paid_date = "2026-01-03";
  doc.amount_paid = "61.50";
  doc.amount_due = "0.00";
  doc.payments = {{"2026-01-03", "stripe", "pi_3Nx9LkA1", "61.50"}};
  doc.notes = "Thank you for your business.\nQuestions? Write to us.";
  auto text = text_of(doc);
  EXPECT_NE(text.find("Payments"), std::string::npos) << text;
  EXPECT_NE(text.find("stripe"), std::string::npos) << text;
  EXPECT_NE(text.find("pi_3Nx9LkA1"), std::string::npos) << text;
  EXPECT_NE(text.find("Paid date"), std::string::npos) << text;
  EXPECT_NE(text.find("2026-01-03"), std::string::npos) << text;
  EXPECT_NE(text.find("Thank you for your business."), std::string::npos)
    << text;
  EXPECT_NE(text.find("Questions? Write to us."), std::string::npos) << text;
}

TEST_F(invoice_pdf_test, short_invoice_has_one_page) {
  EXPECT_EQ(pages_of(sample_invoice()), 1);
}

TEST_F(invoice_pdf_test, sixty_lines_continue_on_a_second_page) {
  auto doc = sample_invoice();
  doc.lines.clear();
  for (int i = 1; i <= 60; ++i)
    doc.lines.push_back(
      {"Service line " + std::to_string(i), "2026-01-01 – 2026-01-31", "1.00"});
  EXPECT_EQ(pages_of(doc), 2);
  auto text = text_of(doc);
  EXPECT_NE(text.find("Service line 1 "), std::string::npos) << text;
  EXPECT_NE(text.find("Service line 60"), std::string::npos) << text;
  EXPECT_NE(text.find("(continued)"), std::string::npos) << text;
  EXPECT_NE(text.find("Page 2"), std::string::npos) << text;
  // The table header is printed again on the second page.
  auto second = text.find("(continued)");
  EXPECT_NE(text.find("Description", second), std::string::npos) << text;
}

TEST_F(invoice_pdf_test, long_description_wraps_inside_its_column) {
  auto doc = sample_invoice();
  std::string words;
  for (int i = 0; i < 40; ++i)
    words += "word" + std::to_string(i) + " ";
  doc.lines = {{words, std::nullopt, "1.00"}};
  auto text = text_of(doc);
  EXPECT_NE(text.find("word0"), std::string::npos) << text;
  EXPECT_NE(text.find("word39"), std::string::npos) << text;
  EXPECT_EQ(pages_of(doc), 1);
}

TEST_F(invoice_pdf_test, pdf_title_is_the_number) {
  auto [out, rc] = run("pdfinfo '" + render_to_file(sample_invoice()) + "'");
  ASSERT_EQ(rc, 0);
  EXPECT_NE(out.find("INV-2026-000042"), std::string::npos) << out;
}

TEST_F(invoice_pdf_test, invalid_utf8_is_refused) {
  auto doc = sample_invoice();
  doc.buyer.name = "bad \xff\xfe name";
  auto pdf = render_invoice_pdf(doc);
  ASSERT_FALSE(pdf);
  EXPECT_EQ(errc_of(pdf.error()), billow_errc::invalid_argument);
}

TEST_F(invoice_pdf_test, concurrent_renders_all_succeed) {
  std::vector<std::future<std::string>> renders;
  renders.reserve(4);
  for (int t = 0; t < 4; ++t)
    renders.push_back(std::async(std::launch::async, [t] {
      auto doc = sample_invoice();
      doc.number = "INV-2026-00010" + std::to_string(t);
      std::string last;
      for (int i = 0; i < 10; ++i) {
        auto pdf = render_invoice_pdf(doc);
        if (!pdf)
          return std::string{};
        last = std::move(*pdf);
      }
      return last;
    }));
  for (int t = 0; t < 4; ++t) {
    auto pdf = renders[t].get();
    ASSERT_EQ(pdf.rfind("%PDF-", 0), 0u) << "thread " << t;
    auto path = dir_.sub("t" + std::to_string(t) + ".pdf");
    std::ofstream{path, std::ios::binary} << pdf;
    auto [text, rc] = run("pdftotext -layout '" + path + "' -");
    ASSERT_EQ(rc, 0);
    EXPECT_NE(text.find("INV-2026-00010" + std::to_string(t)),
              std::string::npos);
    EXPECT_NE(text.find("Zoë Ångström-Müller"), std::string::npos);
  }
}

} // namespace
