#pragma once

// An invoice (stream `invoice-<uuid>`) as its events say it is: the one fold
// that the client's account actor decides with and the billing projection
// lists from.
//
//   invoice.drafted ──► draft ──invoice.issued (numbered)──► unpaid
//   unpaid ──invoice.payment_recorded / invoice.credit_applied──► unpaid
//          ──invoice.paid──► paid ──invoice.refunded (all of it)──► refunded
//   draft, unpaid without payments ──invoice.cancelled──► cancelled
//
// An issued invoice never changes its items, taxes or totals; a refund is a
// credit note (its own invoice, type `credit_note`, `refers_to` the invoice).
// Amounts in events are integers of the currency's minor units; `to_json`
// formats them as the API's strings.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "actors/billing/money.hpp"

namespace billow::billing {

enum class invoice_type : uint8_t { invoice, proforma, credit_note };
enum class invoice_status : uint8_t {
  none,
  draft,
  unpaid,
  paid,
  cancelled,
  refunded
};

const char* to_string(invoice_type x);
const char* to_string(invoice_status x);
/// The type named `text`; false when there is none.
bool parse_invoice_type(std::string_view text, invoice_type& out);
bool parse_invoice_status(std::string_view text, invoice_status& out);

/// One line of an invoice.
struct invoice_item {
  std::string description;
  /// The service the line bills (empty for a manual line).
  std::string service_id;
  std::string period_from;
  std::string period_to;
  /// Minor units, net (or gross with `prices_include_tax`).
  int64_t amount = 0;
  bool taxed = true;
};

/// One tax of an issued invoice.
struct invoice_tax_line {
  std::string name;
  rate r;
  int64_t amount = 0;
};

/// Money that moved on the invoice: a payment, credit from the balance, or a
/// refund.
struct invoice_transaction {
  /// `payment`, `credit` or `refund`.
  std::string type;
  int64_t amount = 0;
  std::string gateway;
  std::string transaction_id;
  int64_t fee = 0;
  int64_t time_us = 0;
};

struct invoice_state {
  std::string id;
  std::string client_id;
  invoice_type type = invoice_type::invoice;
  invoice_status status = invoice_status::none;
  std::string currency;
  /// Why it exists: `manual`, `order`, `add_funds`, `add_funds_paid`,
  /// `refund`.
  std::string purpose = "manual";
  /// The ordered service (purpose `order`).
  std::string service_id;
  std::vector<invoice_item> items;
  std::string series;
  uint64_t sequence = 0;
  std::string number;
  std::string issue_date;
  std::string due_date;
  std::string paid_date;
  int64_t subtotal = 0;
  std::vector<invoice_tax_line> taxes;
  int64_t total = 0;
  /// Paid by payments (their part that went to this invoice).
  int64_t amount_paid = 0;
  /// Paid from the client's balance.
  int64_t credit_applied = 0;
  /// Refunded by credit notes.
  int64_t refunded = 0;
  std::vector<invoice_transaction> transactions;
  /// A credit note: the invoice it credits, and that invoice's number.
  std::string refers_to;
  std::string refers_to_number;
  /// A paid add-funds proforma: the paid invoice issued for it.
  std::string invoice_id;
  std::vector<std::string> credit_notes;
  boost::json::object seller;
  boost::json::object buyer;
  bool reverse_charge = false;
  std::string cancel_reason;
  uint64_t version = 0;
  int64_t created_us = 0;
  int64_t updated_us = 0;

  /// What is still to pay (0 once paid).
  int64_t amount_due() const noexcept {
    if (type == invoice_type::credit_note || status == invoice_status::draft
        || status == invoice_status::cancelled)
      return 0;
    auto due = total - amount_paid - credit_applied;
    return due > 0 ? due : 0;
  }

  /// What payments and credit brought, less what was refunded: the most a
  /// new refund may be.
  int64_t refundable() const noexcept {
    return amount_paid + credit_applied - refunded;
  }

  /// True when a payment with this gateway and transaction id is recorded.
  const invoice_transaction* find_payment(std::string_view gateway,
                                          std::string_view txn) const;

  /// Applies one event of the invoice's stream (pure).
  static void apply(invoice_state& st, std::string_view type,
                    const boost::json::object& payload);

  /// The invoice as the API answers it (docs/api.md, "The invoice").
  boost::json::object to_json() const;
};

/// The JSON of an item in an event (`amount` in minor units).
boost::json::object item_to_event(const invoice_item& item);
invoice_item item_from_event(const boost::json::object& obj);

/// Today's date (UTC) of a clock reading, `YYYY-MM-DD`.
std::string date_of(int64_t time_us);
/// The year of a `YYYY-MM-DD` date.
int year_of(std::string_view date);
/// RFC 3339 UTC time of a clock reading, `2026-12-07T14:26:46Z`.
std::string time_text(int64_t time_us);

} // namespace billow::billing
