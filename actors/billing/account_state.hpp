#pragma once

// A client's account (stream `account-<client uuid>`): currency, billing
// mode, credit limit, tax profile and the ledger of its balance.
//
// The ledger is the balance (credit) account, not a statement of invoices
// (docs/api.md, "The ledger"): each `ledger.*` event is one entry with its
// signed `amount` (credit positive) and the `balance_after` it leaves, so
// the balance is always the sum of the entries. Debits are decided by the
// account actor one at a time and never take the balance below
// `-credit_limit`.
//
// The currency comes from the client (`client.created`); it is fixed.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "events/envelope.hpp"

namespace billow::billing {

/// The kinds of ledger entry and their event types.
///   charge      ledger.charged           credit applied to an invoice, a
///                                        prepaid charge
///   payment     ledger.payment_received  an add-funds payment
///   refund      ledger.refunded          money returned to the client
///   credit      ledger.credited          an overpayment, a credit note
///   adjustment  ledger.adjusted          an operator's correction
const char* ledger_event_type(std::string_view kind);

struct account_state {
  std::string client_id;
  /// Empty until the client's stream was read.
  std::string currency;
  std::string billing_mode = "invoice";
  int64_t credit_limit = 0;
  std::string country;
  /// Personal data: as sealed in the event (vault/personal_data.hpp).
  std::string tax_id;
  bool tax_exempt = false;
  int64_t balance = 0;
  uint64_t entries = 0;
  /// The account stream's version.
  uint64_t version = 0;
  bool erased = false;
  /// The client as an invoice's buyer: name and email from the client's
  /// stream (sealed, as stored), country and tax id from the account.
  boost::json::object client_fields;

  /// The buyer block copied onto an invoice at issue.
  boost::json::object buyer() const;

  /// Applies an event of the client's stream (`client.created`, ...).
  static void apply_client(account_state& st, std::string_view type,
                           const boost::json::object& payload);
  /// Applies an event of the account's stream.
  static void apply(account_state& st, std::string_view type,
                    const boost::json::object& payload);

  /// The state as a record (the billing projection's) and back.
  boost::json::object to_record() const;
  static account_state from_record(const boost::json::object& obj);

  /// The account as the API answers it.
  boost::json::object to_json() const;
};

/// A ledger event as an entry of `GET /clients/{id}/ledger`; amounts in
/// `currency`.
boost::json::object ledger_entry_json(const events::envelope& ev,
                                      const boost::json::object& payload,
                                      std::string_view currency);

} // namespace billow::billing
