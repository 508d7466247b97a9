#pragma once

// The billing aggregates at work: one account actor per client decides every
// money command of that client, its invoices' included, one at a time; a
// series actor hands out invoice numbers.
//
//   route ──billing_cmd──► registry ──► account actor (client X)
//                                        │ decide against the account and
//                                        │ the invoice (loaded from the log)
//                                        ▼
//                 one unit over the streams it touches (account-X,
//                 invoice-Y, ...) ──► writer (append_unit), or, when a number
//                 is taken, ──► series actor: adds `series.number_taken` to
//                 series-<name> and the number to `invoice.issued`, then
//                 ──► writer: the unit is written whole or not at all
//
// Why one actor per client and not per invoice: a payment that overpays, a
// refund to the balance or credit applied to an invoice changes the invoice
// and the balance together, and both must be decided against the same
// state. With the client's account deciding, two payments cannot both pass
// one balance check (they run one after the other), and the events of one
// command go into one atomic unit, so no crash leaves half of one.
//
// Why numbers in the same unit: a number is taken only with the
// `invoice.issued` event that carries it (events/event_store.hpp,
// append_request::with_next), so a kill between numbering and issuing
// cannot happen: the sequence of a series is its stream's version, 1..N
// with no gap and no repeat.
//
// Repeats write nothing: a payment's events derive their ids from (invoice,
// gateway, transaction id), other commands' from their Idempotency-Key, and
// the decision itself answers a known transaction without writing.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/billing/account_state.hpp"
#include "actors/billing/invoice_state.hpp"
#include "actors/context.hpp"
#include "events/uuid.hpp"

namespace billow::billing {

using billing_cmd_atom = caf::atom_constant<caf::atom("bill_cmd")>;
using number_atom = caf::atom_constant<caf::atom("bill_num")>;

/// One command for a client's billing. `op` names it; `body` is its input as
/// a JSON object text, already validated by the caller (amounts in minor
/// units):
///   account.get        {}
///   account.update     {billing_mode?, credit_limit?, country?, tax_id?,
///                       tax_exempt?}
///   account.adjust     {amount, reason}  signed; a debit may not take the
///                       balance below -credit_limit
///   invoice.get        {}
///   invoice.create     {type?, items, due_date?, purpose?, service_id?}
///                       a draft with id `invoice_id`
///   invoice.issue      {}  draft -> unpaid, numbered; credit applied
///   invoice.order      {service_id, product_name, period, amount,
///                       setup_fee?}  an order's first invoice (first period
///                       from today and the setup fee), issued at once; a
///                       prepaid client's answers its account instead
///   invoice.renewal    {service_id, product_name, period, amount,
///                       period_from, period_to, due_date}  a renewal
///                       invoice (the billing run's; its id derives from
///                       the service and period_from), issued at once; a
///                       prepaid client's answers its account instead
///   invoice.pay        {amount, gateway, transaction_id, fee?}
///   invoice.apply_credit {amount?}  pays from the balance (all or nothing)
///   invoice.cancel     {reason}
///   invoice.refund     {amount, reason, method, credit_note_id}
///   add_funds          {amount}  a proforma with id `invoice_id`, issued
struct billing_command {
  std::string op;
  /// The client; nil for invoice commands, which the registry routes by the
  /// invoice's own client.
  events::uuid client_id;
  events::uuid invoice_id;
  std::string body;
  /// Who: `admin:<id>`, `client:<id>`, `system`.
  std::string actor = "system";
  /// Makes a retry answer the first result (event ids derive from it).
  std::string idempotency_key;
  /// Shared by the events of the command.
  events::uuid correlation_id;
  /// `If-Match` on the invoice or account (-1: unconditional).
  int64_t expected_version = -1;
  /// When set, the command is refused (`not_found`) unless the invoice or
  /// account belongs to this client (the client area).
  events::uuid owner;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, billing_command& x) {
  return f(x.op, x.client_id, x.invoice_id, x.body, x.actor, x.idempotency_key,
           x.correlation_id, x.expected_version, x.owner);
}

/// A command's answer: the invoice or account it left, as the API answers
/// it (JSON text).
struct billing_reply {
  std::string body;
  /// The log position of the command's last event (0 when it wrote none).
  uint64_t position = 0;
  /// True when the command wrote nothing because it was done before.
  bool duplicate = false;
  /// True when the command created the invoice it answers.
  bool created = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, billing_reply& x) {
  return f(x.body, x.position, x.duplicate, x.created);
}

/// What issuing an invoice computes (the tax engine's answer).
struct computed_totals {
  int64_t subtotal = 0;
  std::vector<invoice_tax_line> taxes;
  int64_t total = 0;
  bool reverse_charge = false;
};

/// The billing settings and tax rules as they are when a command runs.
struct billing_terms {
  /// Series name (`invoice`, `proforma`, `credit_note`) -> number format.
  std::map<std::string, std::string, std::less<>> number_formats;
  boost::json::object seller;
  /// The balance pays new invoices at once.
  bool apply_credit = true;
  /// Subtotal, taxes and total of `items` for the client's `account`.
  std::function<caf::expected<computed_totals>(
    const std::vector<invoice_item>& items, const account_state& account)>
    totals;
};

struct billing_options {
  /// The terms now (reads the settings' and tax rules' streams).
  std::function<billing_terms()> terms;
  /// Called once an order's invoice is paid (the service is then created),
  /// from the account actor: must not block.
  std::function<void(const std::string& service_id,
                     const std::string& invoice_id)>
    on_order_paid;
  /// Most account actors kept live; the least recently used go first.
  size_t max_live = 100'000;
};

using billing_registry_actor = caf::typed_actor<
  /// Runs a command; errors: `not_found` (client or invoice),
  /// `invalid_argument` (a field, `detail` names it), `invalid_transition`
  /// (the invoice's status forbids it), `insufficient_funds`,
  /// `wrong_expected_version` (If-Match), `conflict` (a refund the payment
  /// cannot take back), storage errors.
  caf::replies_to<billing_cmd_atom, billing_command>::with<billing_reply>>;

/// Spawns the registry (and the series actor) over `ctx`, which must outlive
/// them.
billing_registry_actor make_billing_registry(caf::actor_system& sys,
                                             const actors::runtime_context& ctx,
                                             billing_options opts);

/// The number format of a series when the settings name none
/// (`INV-{YYYY}-{NNNNNN}`, `PRO-...`, `CN-...`).
std::string default_number_format(std::string_view series);

/// The default tax engine until settings exist: no taxes (tests).
caf::expected<computed_totals>
untaxed_totals(const std::vector<invoice_item>& items, const account_state&);

} // namespace billow::billing
