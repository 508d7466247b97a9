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
// and type. Rebuilt with `billow replay billing`.

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

  std::unordered_map<std::string, invoice_row> invoices_;
  std::map<uint64_t, const invoice_row*> by_seq_;
  std::array<std::set<uint64_t>, 6> by_status_;
  std::unordered_map<std::string, std::set<uint64_t>> by_client_;
  std::unordered_map<std::string, account_row> accounts_;
  std::vector<invoice_row*> dirty_invoices_;
  std::vector<std::string> dirty_accounts_;
};

} // namespace billow::projections
