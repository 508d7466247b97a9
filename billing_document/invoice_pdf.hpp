#pragma once

// An invoice, credit note or proforma as a PDF document (Cairo's PDF surface,
// Pango for the text). The input is the invoice as issued with every value
// already formatted as text: the money formatting (minor units, currency
// exponent) lives in billow_billing, not here.

#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace billow::billing {

/// The seller or the buyer as printed on the document; empty fields are left
/// out. The seller usually has an `email`, the buyer a `country`.
struct invoice_party {
  std::string name;
  /// Street, postcode and city, ... one printed line each.
  std::vector<std::string> address;
  std::string tax_id;
  std::string email;
  std::string country;
};

/// One item of the invoice.
struct invoice_line {
  std::string description;
  /// The billed period, e.g. "2026-01-01 – 2026-01-31".
  std::optional<std::string> period;
  /// The formatted net amount, e.g. "12.50".
  std::string amount;
};

/// One tax of the invoice, e.g. {"VAT", "20%", "2.50"}.
struct invoice_tax {
  std::string name;
  std::string rate;
  std::string amount;
};

/// One payment applied to the invoice.
struct invoice_payment {
  std::string date;
  /// The gateway's name or a label such as "bank" or "cash".
  std::string gateway;
  std::string transaction_id;
  std::string amount;
};

/// Everything the document prints, as text. All strings must be UTF-8.
struct invoice_document {
  /// "Invoice", "Credit note" or "Proforma".
  std::string title = "Invoice";
  /// The formatted number, e.g. "INV-2026-000001"; also the PDF's title.
  std::string number;
  std::string issue_date;
  std::string due_date;
  std::optional<std::string> paid_date;
  /// "unpaid", "paid", "cancelled", "refunded", ...
  std::string status;
  /// The ISO 4217 code the amounts are in, e.g. "EUR".
  std::string currency;
  invoice_party seller;
  invoice_party buyer;
  std::vector<invoice_line> lines;
  /// Net, before taxes.
  std::string subtotal;
  std::vector<invoice_tax> taxes;
  /// Gross, after taxes.
  std::string total;
  std::string amount_paid;
  std::string amount_due;
  std::vector<invoice_payment> payments;
  /// For a credit note: the number of the invoice it credits.
  std::optional<std::string> refers_to;
  /// Prints that the recipient accounts for the VAT (an exempt client with a
  /// tax id; the invoice then has no taxes).
  bool reverse_charge = false;
  /// Free text printed at the end; `\n` starts a new paragraph.
  std::string notes;
};

/// Renders `doc` as an A4 PDF and returns its bytes. Lines that do not fit
/// on a page continue on the next, under a repeated table header; every page
/// has a footer with the number and the page's position.
///
/// Errors: `billow_errc::invalid_argument` when a string is not valid UTF-8,
/// `billow_errc::internal` when Cairo fails (its status in the detail).
///
/// Thread-safe: each call has its own surface, context and layouts; the fonts
/// come from Pango's default font map, which is per thread (so the first
/// render on a thread pays for loading the fonts).
caf::expected<std::string> render_invoice_pdf(const invoice_document& doc);

} // namespace billow::billing
