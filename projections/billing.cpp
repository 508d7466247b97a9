#include "projections/billing.hpp"

#include <boost/json.hpp>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include "actors/aggregate.hpp"
#include "actors/billing/periods.hpp"
#include "events/errc.hpp"
#include "projections/json_scratch.hpp"

namespace billow::projections {

namespace json = boost::json;

namespace {

constexpr std::string_view invoice_prefix = "invoice-";
constexpr std::string_view account_prefix = "account-";
constexpr std::string_view client_prefix = "client-";

} // namespace

billing_projection::billing_projection() : projection("billing") {
  // nop
}

void billing_projection::reset_locked() {
  invoices_.clear();
  by_seq_.clear();
  for (auto& s : by_status_)
    s.clear();
  by_client_.clear();
  accounts_.clear();
  service_invoices_.clear();
  services_.clear();
  dirty_invoices_.clear();
  dirty_accounts_.clear();
}

void billing_projection::index(uint64_t seq,
                               const billing::invoice_state& inv) {
  by_status_.at(static_cast<size_t>(inv.status)).insert(seq);
  by_client_[inv.client_id].insert(seq);
}

void billing_projection::unindex(uint64_t seq,
                                 const billing::invoice_state& inv) {
  by_status_.at(static_cast<size_t>(inv.status)).erase(seq);
  if (auto i = by_client_.find(inv.client_id); i != by_client_.end()) {
    i->second.erase(seq);
    if (i->second.empty())
      by_client_.erase(i);
  }
}

std::string service_billing::next_due_date() const {
  if (paid_until.empty())
    return {};
  auto next = billing::add_days(paid_until, 1);
  return next ? *next : std::string{};
}

void billing_projection::note_services(const billing::invoice_state& inv) {
  if (inv.type != billing::invoice_type::invoice)
    return;
  std::set<std::string> touched;
  for (const auto& item : inv.items)
    if (!item.service_id.empty() && !item.period_from.empty()) {
      service_invoices_[item.service_id].insert(inv.id);
      touched.insert(item.service_id);
    }
  for (const auto& id : touched)
    refold_service(id);
}

void billing_projection::refold_service(const std::string& id) {
  service_billing out;
  out.service_id = id;
  for (const auto& inv_id : service_invoices_[id]) {
    auto i = invoices_.find(inv_id);
    if (i == invoices_.end())
      continue;
    const auto& inv = i->second.state;
    using billing::invoice_status;
    bool billed = inv.status == invoice_status::unpaid
      || inv.status == invoice_status::paid
      || inv.status == invoice_status::refunded;
    bool paid = inv.status == invoice_status::paid;
    out.client_id = inv.client_id;
    for (const auto& item : inv.items) {
      if (item.service_id != id || item.period_from.empty())
        continue;
      if (out.anchor.empty() || item.period_from < out.anchor)
        out.anchor = item.period_from;
      if (billed && item.period_to > out.billed_until)
        out.billed_until = item.period_to;
      if (paid && item.period_to > out.paid_until)
        out.paid_until = item.period_to;
    }
  }
  services_[id] = std::move(out);
}

void billing_projection::touch_account(const std::string& id,
                                       account_row& row) {
  if (!row.dirty) {
    row.dirty = true;
    dirty_accounts_.push_back(id);
  }
}

void billing_projection::apply_locked(const events::envelope& ev) {
  std::string_view stream = ev.stream;
  bool is_invoice = stream.starts_with(invoice_prefix);
  bool is_account = stream.starts_with(account_prefix);
  bool is_client = stream.starts_with(client_prefix);
  if (!is_invoice && !is_account && !is_client)
    return;
  json_scratch scratch;
  auto* payload = scratch.parse_object(ev.payload);
  if (payload == nullptr) {
    spdlog::warn("billing projection: bad payload at position {}", ev.position);
    return;
  }
  if (is_invoice) {
    auto id = std::string{stream.substr(invoice_prefix.size())};
    auto [it, fresh] = invoices_.try_emplace(id);
    auto& row = it->second;
    if (fresh) {
      row.seq = ev.position;
      row.state.id = id;
      row.state.created_us = ev.time_us;
      by_seq_[row.seq] = &row;
    } else {
      unindex(row.seq, row.state);
    }
    billing::invoice_state::apply(row.state, ev.type, *payload);
    row.state.version = ev.version;
    row.state.updated_us = ev.time_us;
    row.events.emplace_back(ev.type, ev.payload);
    index(row.seq, row.state);
    note_services(row.state);
    if (!row.dirty) {
      row.dirty = true;
      dirty_invoices_.push_back(&row);
    }
    return;
  }
  auto prefix = is_account ? account_prefix : client_prefix;
  auto id = std::string{stream.substr(prefix.size())};
  if (is_account) {
    // An account exists from its first event (which names its currency); a
    // client without billing events has none, and costs nothing here.
    auto& row = accounts_[id];
    row.state.client_id = id;
    billing::account_state::apply(row.state, ev.type, *payload);
    row.state.version = ev.version;
    touch_account(id, row);
    return;
  }
  auto row = accounts_.find(id);
  if (row == accounts_.end())
    return;
  billing::account_state::apply_client(row->second.state, ev.type, *payload);
  touch_account(id, row->second);
}

void billing_projection::flush_locked(rocksdb::WriteBatch& batch,
                                      rocksdb::ColumnFamilyHandle* cf) {
  for (auto* row : dirty_invoices_) {
    json::array evs;
    for (const auto& [type, payload] : row->events)
      evs.push_back(json::array{json::value(type), json::value(payload)});
    json::object o{{"seq", row->seq},
                   {"version", row->state.version},
                   {"created_us", row->state.created_us},
                   {"updated_us", row->state.updated_us},
                   {"events", std::move(evs)}};
    batch.Put(cf, record_key('i', row->state.id), json::serialize(o));
    row->dirty = false;
  }
  dirty_invoices_.clear();
  for (const auto& id : dirty_accounts_) {
    auto i = accounts_.find(id);
    if (i == accounts_.end())
      continue;
    batch.Put(cf, record_key('a', id),
              json::serialize(i->second.state.to_record()));
    i->second.dirty = false;
  }
  dirty_accounts_.clear();
}

caf::error billing_projection::load_record(std::string_view key,
                                           std::string_view value) {
  boost::system::error_code ec;
  auto doc = json::parse(value, ec);
  if (ec || !doc.is_object() || key.size() < 3 || key[1] != '/')
    return make_error(billow_errc::corruption,
                      "billing projection: malformed record "
                        + std::string{key});
  const auto& o = doc.get_object();
  auto id = std::string{key.substr(2)};
  if (key[0] == 'a') {
    auto& row = accounts_[id];
    row.state = billing::account_state::from_record(o);
    return caf::none;
  }
  auto& row = invoices_[id];
  row.seq = actors::json_uint(o, "seq");
  row.state = billing::invoice_state{};
  row.state.id = id;
  if (auto* evs = o.if_contains("events"); evs && evs->is_array())
    for (const auto& e : evs->as_array()) {
      if (!e.is_array() || e.as_array().size() != 2)
        continue;
      auto type = std::string{e.as_array()[0].as_string()};
      auto payload = std::string{e.as_array()[1].as_string()};
      billing::invoice_state::apply(row.state, type,
                                    actors::parse_object(payload));
      row.events.emplace_back(std::move(type), std::move(payload));
    }
  row.state.version = actors::json_uint(o, "version");
  if (auto* v = o.if_contains("created_us"); v && v->is_int64())
    row.state.created_us = v->as_int64();
  if (auto* v = o.if_contains("updated_us"); v && v->is_int64())
    row.state.updated_us = v->as_int64();
  by_seq_[row.seq] = &row;
  index(row.seq, row.state);
  note_services(row.state);
  return caf::none;
}

std::optional<billing::invoice_state>
billing_projection::invoice(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto i = invoices_.find(std::string{id});
  if (i == invoices_.end())
    return std::nullopt;
  return i->second.state;
}

std::optional<billing::account_state>
billing_projection::account(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto i = accounts_.find(std::string{id});
  if (i == accounts_.end())
    return std::nullopt;
  return i->second.state;
}

std::optional<service_billing>
billing_projection::service(std::string_view id) const {
  std::shared_lock guard{mtx_};
  auto i = services_.find(std::string{id});
  if (i == services_.end())
    return std::nullopt;
  return i->second;
}

std::vector<service_billing>
billing_projection::services(std::string_view client_id) const {
  std::shared_lock guard{mtx_};
  std::vector<service_billing> out;
  for (const auto& [id, row] : services_)
    if (client_id.empty() || row.client_id == client_id)
      out.push_back(row);
  return out;
}

page<billing::invoice_state>
billing_projection::invoices(const invoice_filter& filter, uint64_t after,
                             size_t limit) const {
  limit = std::max<size_t>(limit, 1);
  std::shared_lock guard{mtx_};
  auto keep = [&](const billing::invoice_state& inv) {
    return (!filter.status || inv.status == *filter.status)
      && (!filter.type || inv.type == *filter.type)
      && (filter.client_id.empty() || inv.client_id == filter.client_id);
  };
  static const std::set<uint64_t> none;
  const std::set<uint64_t>* index = nullptr;
  if (!filter.client_id.empty()) {
    auto i = by_client_.find(filter.client_id);
    index = i == by_client_.end() ? &none : &i->second;
  }
  if (filter.status) {
    auto* s = &by_status_.at(static_cast<size_t>(*filter.status));
    if (index == nullptr || s->size() < index->size())
      index = s;
  }
  page<billing::invoice_state> out;
  // Walk the chosen index (or every invoice) in list order.
  uint64_t last_seq = 0;
  auto visit = [&](const invoice_row* row) {
    if (row == nullptr || !keep(row->state))
      return true;
    if (out.items.size() == limit) {
      out.next_after = last_seq;
      return false;
    }
    out.items.push_back(row->state);
    last_seq = row->seq;
    return true;
  };
  if (index != nullptr) {
    for (auto i = index->upper_bound(after); i != index->end(); ++i) {
      auto r = by_seq_.find(*i);
      if (!visit(r == by_seq_.end() ? nullptr : r->second))
        break;
    }
  } else {
    for (auto i = by_seq_.upper_bound(after); i != by_seq_.end(); ++i)
      if (!visit(i->second))
        break;
  }
  return out;
}

} // namespace billow::projections
