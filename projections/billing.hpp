#pragma once

// The billing projection: every invoice and every account as their streams
// say they are, for the invoice lists, the clients' balances and (later) the
// billing clock.
//
// Events it reads: `invoice.*` of streams `invoice-<id>`, folded by the
// invoice's own `invoice_state::apply`; `account.*` / `ledger.*` of
// `account-<id>` (each names the currency) and, for a client with an
// account, `client.*` of `client-<id>`, by `account_state`.
//
// Read model (column family `proj_billing`): `i/<id>` one record an invoice
// (its events, refolded on load: an invoice has a handful), `a/<id>` one an
// account (its state). In memory: the rows plus indexes by status, client
// and type; per service with invoiced periods (items naming it with
// `period_from`), its anchor, billed_until and paid_until, folded again from
// its invoices when one of them changes (not stored: rebuilt from the
// invoice records on load). Rebuilt with `billow replay billing`.

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/billing/account_state.hpp"
#include "actors/billing/invoice_state.hpp"
#include "projections/projection.hpp"

namespace billow::projections {

/// One invoice in the read model.
struct invoice_row {
  /// Position of its first event: the list order.
  uint64_t seq = 0;
  billing::invoice_state state;
  /// Its events as (type, payload text), to refold after a load.
  std::vector<std::pair<std::string, std::string>> events;
  bool dirty = false;
};

/// What the invoices of one service say of its billing: the services whose
/// invoices have items naming them (`service_id`) with a period.
struct service_billing {
  std::string service_id;
  std::string client_id;
  /// The first invoiced period's start (any invoice's, cancelled ones too).
  std::string anchor;
  /// The last period's end among issued invoices not cancelled (unpaid,
  /// paid, refunded); empty when none.
  std::string billed_until;
  /// The last period's end among paid invoices; empty when none.
  std::string paid_until;

  /// The day after `paid_until`; empty while nothing is paid (a pending
  /// order).
  std::string next_due_date() const;
};

/// Filters of the invoice list; empty ones match everything.
struct invoice_filter {
  std::optional<billing::invoice_status> status;
  std::optional<billing::invoice_type> type;
  std::string client_id;
};

class billing_projection : public projection {
public:
  billing_projection();

  std::optional<billing::invoice_state> invoice(std::string_view id) const;

  /// Invoices matching `filter` after list position `after`, at most
  /// `limit`.
  page<billing::invoice_state> invoices(const invoice_filter& filter,
                                        uint64_t after, size_t limit) const;

  /// The account of client `id`; none for a client without billing events
  /// (its balance is zero).
  std::optional<billing::account_state> account(std::string_view id) const;

  /// The billing of service `id`; none for a service without invoiced
  /// periods.
  std::optional<service_billing> service(std::string_view id) const;

  /// The billing of every service with invoiced periods (of `client_id`
  /// only, when not empty), in no particular order.
  std::vector<service_billing> services(std::string_view client_id = {}) const;

protected:
  void reset_locked() override;
  caf::error load_record(std::string_view key, std::string_view value) override;
  void apply_locked(const events::envelope& ev) override;
  void flush_locked(rocksdb::WriteBatch& batch,
                    rocksdb::ColumnFamilyHandle* cf) override;

private:
  struct account_row {
    billing::account_state state;
    bool dirty = false;
  };

  void index(uint64_t seq, const billing::invoice_state& inv);
  void unindex(uint64_t seq, const billing::invoice_state& inv);
  void touch_account(const std::string& id, account_row& row);
  /// Notes the services `inv` bills and folds their billing again.
  void note_services(const billing::invoice_state& inv);
  void refold_service(const std::string& id);

  std::unordered_map<std::string, invoice_row> invoices_;
  std::map<uint64_t, const invoice_row*> by_seq_;
  std::array<std::set<uint64_t>, 6> by_status_;
  std::unordered_map<std::string, std::set<uint64_t>> by_client_;
  std::unordered_map<std::string, account_row> accounts_;
  /// Service -> the invoices with items of it, and what they say of it
  /// (folded again from those invoices whenever one of them changes; kept
  /// in memory only, rebuilt from the invoice records on load).
  std::unordered_map<std::string, std::set<std::string>> service_invoices_;
  std::unordered_map<std::string, service_billing> services_;
  std::vector<invoice_row*> dirty_invoices_;
  std::vector<std::string> dirty_accounts_;
};

} // namespace billow::projections
