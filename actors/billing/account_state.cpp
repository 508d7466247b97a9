#include "actors/billing/account_state.hpp"

#include <boost/json.hpp>

#include "actors/billing/event_fields.hpp"
#include "actors/billing/invoice_state.hpp"
#include "actors/billing/money.hpp"

namespace billow::billing {

namespace json = boost::json;

namespace {

/// The account fields an event may set (client.created carries the ones
/// given with the client).
void apply_profile(account_state& st, const json::object& p) {
  if (auto mode = text_at(p, "billing_mode"); !mode.empty())
    st.billing_mode = mode;
  if (auto* v = p.if_contains("credit_limit_minor"); v && v->is_int64())
    st.credit_limit = v->as_int64();
  if (p.contains("country"))
    st.country = text_at(p, "country");
  if (p.contains("tax_id"))
    st.tax_id = text_at(p, "tax_id");
  if (auto* v = p.if_contains("tax_exempt"); v && v->is_bool())
    st.tax_exempt = v->as_bool();
}

} // namespace

const char* ledger_event_type(std::string_view kind) {
  if (kind == "charge")
    return "ledger.charged";
  if (kind == "payment")
    return "ledger.payment_received";
  if (kind == "refund")
    return "ledger.refunded";
  if (kind == "credit")
    return "ledger.credited";
  return "ledger.adjusted";
}

void account_state::apply_client(account_state& st, std::string_view type,
                                 const json::object& p) {
  if (type == "client.created" || type == "client.updated") {
    if (type == "client.created")
      st.currency = text_at(p, "currency");
    for (const char* key : {"name", "email", "address", "phone"})
      if (auto* v = p.if_contains(key); v && (v->is_string() || v->is_array()))
        st.client_fields[key] = *v;
    apply_profile(st, p);
  } else if (type == "client.erased") {
    st.erased = true;
  }
}

void account_state::apply(account_state& st, std::string_view type,
                          const json::object& p) {
  if (auto currency = text_at(p, "currency"); !currency.empty())
    st.currency = currency; // account events carry it (the projection's)
  if (type == "account.updated") {
    apply_profile(st, p);
  } else if (type.starts_with("ledger.")) {
    st.balance = integer_at(p, "balance_after");
    ++st.entries;
  }
}

json::object account_state::buyer() const {
  auto out = client_fields;
  if (!country.empty())
    out["country"] = country;
  if (!tax_id.empty())
    out["tax_id"] = tax_id;
  return out;
}

json::object account_state::to_record() const {
  return json::object{{"client_id", client_id},
                      {"currency", currency},
                      {"billing_mode", billing_mode},
                      {"credit_limit", credit_limit},
                      {"country", country},
                      {"tax_id", tax_id},
                      {"tax_exempt", tax_exempt},
                      {"balance", balance},
                      {"entries", entries},
                      {"version", version},
                      {"erased", erased},
                      {"client_fields", client_fields}};
}

account_state account_state::from_record(const json::object& o) {
  account_state st;
  st.client_id = text_at(o, "client_id");
  st.currency = text_at(o, "currency");
  st.billing_mode = text_at(o, "billing_mode");
  st.credit_limit = integer_at(o, "credit_limit");
  st.country = text_at(o, "country");
  st.tax_id = text_at(o, "tax_id");
  if (auto* v = o.if_contains("tax_exempt"); v && v->is_bool())
    st.tax_exempt = v->as_bool();
  st.balance = integer_at(o, "balance");
  st.entries = static_cast<uint64_t>(integer_at(o, "entries"));
  st.version = static_cast<uint64_t>(integer_at(o, "version"));
  if (auto* v = o.if_contains("erased"); v && v->is_bool())
    st.erased = v->as_bool();
  if (auto* v = o.if_contains("client_fields"); v && v->is_object())
    st.client_fields = v->as_object();
  return st;
}

json::object account_state::to_json() const {
  money_formatter money{currency};
  return json::object{
    {"client_id", client_id},
    {"currency", currency},
    {"billing_mode", billing_mode},
    {"credit_limit", money(credit_limit)},
    {"balance", money(balance)},
    {"available", money(balance + credit_limit)},
    {"country", country.empty() ? json::value(nullptr) : json::value(country)},
    {"tax_id", tax_id.empty() ? json::value(nullptr) : json::value(tax_id)},
    {"tax_exempt", tax_exempt},
    {"ledger_entries", entries},
    {"version", version}};
}

json::object ledger_entry_json(const events::envelope& ev,
                               const json::object& p,
                               std::string_view currency) {
  money_formatter money{currency};
  json::object out{{"id", text_at(p, "entry_id")},
                   {"type", text_at(p, "type")},
                   {"amount", money(integer_at(p, "amount"))},
                   {"balance_after", money(integer_at(p, "balance_after"))},
                   {"description", text_at(p, "description")},
                   {"time", time_text(ev.time_us)},
                   {"actor", ev.actor},
                   {"version", ev.version}};
  if (auto inv = text_at(p, "invoice_id"); !inv.empty())
    out["invoice_id"] = inv;
  if (auto reason = text_at(p, "reason"); !reason.empty())
    out["reason"] = reason;
  return out;
}

} // namespace billow::billing
