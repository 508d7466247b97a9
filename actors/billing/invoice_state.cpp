#include "actors/billing/invoice_state.hpp"

#include <chrono>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "actors/billing/event_fields.hpp"

namespace billow::billing {

namespace json = boost::json;

namespace {

constexpr const char* type_names[] = {"invoice", "proforma", "credit_note"};
constexpr const char* status_names[] = {"none", "draft",     "unpaid",
                                        "paid", "cancelled", "refunded"};

} // namespace

const char* to_string(invoice_type x) {
  return type_names[static_cast<int>(x)];
}

const char* to_string(invoice_status x) {
  return status_names[static_cast<int>(x)];
}

bool parse_invoice_type(std::string_view text, invoice_type& out) {
  for (int i = 0; i < 3; ++i)
    if (text == type_names[i]) {
      out = static_cast<invoice_type>(i);
      return true;
    }
  return false;
}

bool parse_invoice_status(std::string_view text, invoice_status& out) {
  for (int i = 1; i < 6; ++i)
    if (text == status_names[i]) {
      out = static_cast<invoice_status>(i);
      return true;
    }
  return false;
}

json::object item_to_event(const invoice_item& item) {
  json::object out{{"description", item.description},
                   {"amount", item.amount},
                   {"taxed", item.taxed}};
  if (!item.service_id.empty())
    out["service_id"] = item.service_id;
  if (!item.period_from.empty())
    out["period_from"] = item.period_from;
  if (!item.period_to.empty())
    out["period_to"] = item.period_to;
  return out;
}

invoice_item item_from_event(const json::object& obj) {
  invoice_item item;
  item.description = text_at(obj, "description");
  item.service_id = text_at(obj, "service_id");
  item.period_from = text_at(obj, "period_from");
  item.period_to = text_at(obj, "period_to");
  item.amount = integer_at(obj, "amount");
  item.taxed = flag_at(obj, "taxed", true);
  return item;
}

std::string date_of(int64_t time_us) {
  using namespace std::chrono;
  auto t = sys_time<microseconds>{microseconds{time_us}};
  year_month_day ymd{floor<days>(t)};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

int year_of(std::string_view date) {
  int year = 0;
  for (size_t i = 0; i < 4 && i < date.size(); ++i)
    year = year * 10 + (date[i] - '0');
  return year;
}

std::string time_text(int64_t time_us) {
  using namespace std::chrono;
  auto t = sys_time<microseconds>{microseconds{time_us}};
  auto day = floor<days>(t);
  hh_mm_ss hms{floor<seconds>(t - day)};
  return fmt::format("{}T{:02}:{:02}:{:02}Z", date_of(time_us),
                     hms.hours().count(), hms.minutes().count(),
                     hms.seconds().count());
}

const invoice_transaction*
invoice_state::find_payment(std::string_view gateway,
                            std::string_view txn) const {
  for (const auto& t : transactions)
    if (t.type == "payment" && t.gateway == gateway && t.transaction_id == txn)
      return &t;
  return nullptr;
}

void invoice_state::apply(invoice_state& st, std::string_view type,
                          const json::object& p) {
  if (type == "invoice.drafted") {
    st.client_id = text_at(p, "client_id");
    parse_invoice_type(text_at(p, "type"), st.type);
    st.status = invoice_status::draft;
    st.currency = text_at(p, "currency");
    if (auto purpose = text_at(p, "purpose"); !purpose.empty())
      st.purpose = purpose;
    st.service_id = text_at(p, "service_id");
    st.due_date = text_at(p, "due_date");
    st.refers_to = text_at(p, "refers_to");
    st.refers_to_number = text_at(p, "refers_to_number");
    st.items.clear();
    if (auto* items = p.if_contains("items"); items && items->is_array())
      for (const auto& i : items->as_array())
        if (i.is_object())
          st.items.push_back(item_from_event(i.as_object()));
  } else if (type == "invoice.issued") {
    st.status = invoice_status::unpaid;
    st.series = text_at(p, "series");
    st.sequence = static_cast<uint64_t>(integer_at(p, "sequence"));
    st.number = text_at(p, "number");
    st.issue_date = text_at(p, "issue_date");
    st.due_date = text_at(p, "due_date");
    st.subtotal = integer_at(p, "subtotal");
    st.total = integer_at(p, "total");
    st.taxes.clear();
    if (auto* taxes = p.if_contains("taxes"); taxes && taxes->is_array())
      for (const auto& t : taxes->as_array())
        if (t.is_object()) {
          auto& o = t.as_object();
          invoice_tax_line line;
          line.name = text_at(o, "name");
          if (auto r = parse_rate(text_at(o, "rate")))
            line.r = *r;
          line.amount = integer_at(o, "amount");
          st.taxes.push_back(std::move(line));
        }
    st.seller = object_at(p, "seller");
    st.buyer = object_at(p, "buyer");
    st.reverse_charge = flag_at(p, "reverse_charge", false);
  } else if (type == "invoice.payment_recorded") {
    invoice_transaction t;
    t.type = "payment";
    t.amount = integer_at(p, "amount");
    t.gateway = text_at(p, "gateway");
    t.transaction_id = text_at(p, "transaction_id");
    t.fee = integer_at(p, "fee");
    t.time_us = integer_at(p, "time_us");
    st.amount_paid += integer_at(p, "applied");
    st.transactions.push_back(std::move(t));
  } else if (type == "invoice.credit_applied") {
    invoice_transaction t;
    t.type = "credit";
    t.amount = integer_at(p, "amount");
    t.gateway = "balance";
    t.transaction_id = text_at(p, "entry_id");
    t.time_us = integer_at(p, "time_us");
    st.credit_applied += t.amount;
    st.transactions.push_back(std::move(t));
  } else if (type == "invoice.paid") {
    st.status = invoice_status::paid;
    st.paid_date = text_at(p, "paid_date");
    if (auto id = text_at(p, "invoice_id"); !id.empty())
      st.invoice_id = id;
  } else if (type == "invoice.cancelled") {
    st.status = invoice_status::cancelled;
    st.cancel_reason = text_at(p, "reason");
  } else if (type == "invoice.refunded") {
    invoice_transaction t;
    t.type = "refund";
    t.amount = integer_at(p, "amount");
    t.gateway = text_at(p, "method");
    t.transaction_id = text_at(p, "credit_note_id");
    t.time_us = integer_at(p, "time_us");
    st.refunded += t.amount;
    st.credit_notes.push_back(t.transaction_id);
    st.transactions.push_back(std::move(t));
    if (st.refunded >= st.amount_paid + st.credit_applied)
      st.status = invoice_status::refunded;
  }
}

json::object invoice_state::to_json() const {
  money_formatter money{currency};
  json::array item_list;
  for (const auto& i : items) {
    json::object o{{"description", i.description},
                   {"amount", money(i.amount)},
                   {"taxed", i.taxed}};
    if (!i.service_id.empty())
      o["service_id"] = i.service_id;
    if (!i.period_from.empty())
      o["period_from"] = i.period_from;
    if (!i.period_to.empty())
      o["period_to"] = i.period_to;
    item_list.push_back(std::move(o));
  }
  json::array tax_list;
  for (const auto& t : taxes)
    tax_list.push_back(json::object{{"name", t.name},
                                    {"rate", format_rate(t.r)},
                                    {"amount", money(t.amount)}});
  json::array txns;
  for (const auto& t : transactions) {
    json::object o{{"type", t.type},
                   {"amount", money(t.amount)},
                   {"gateway", t.gateway},
                   {"transaction_id", t.transaction_id},
                   {"time", time_text(t.time_us)}};
    if (t.fee != 0)
      o["fee"] = money(t.fee);
    txns.push_back(std::move(o));
  }
  auto opt = [](const std::string& s) -> json::value {
    if (s.empty())
      return nullptr;
    return json::value(s);
  };
  bool issued = status != invoice_status::draft;
  json::object out{
    {"id", id},
    {"type", to_string(type)},
    {"series", issued ? json::value(series) : json::value(nullptr)},
    {"sequence", issued ? json::value(sequence) : json::value(nullptr)},
    {"number", opt(number)},
    {"status", to_string(status)},
    {"client_id", client_id},
    {"currency", currency},
    {"purpose", purpose},
    {"issue_date", opt(issue_date)},
    {"due_date", opt(due_date)},
    {"paid_date", opt(paid_date)},
    {"items", std::move(item_list)},
    {"subtotal", money(subtotal)},
    {"taxes", std::move(tax_list)},
    {"total", money(total)},
    {"amount_paid", money(amount_paid)},
    {"amount_due", money(amount_due())},
    {"credit_applied", money(credit_applied)},
    {"amount_refunded", money(refunded)},
    {"transactions", std::move(txns)},
    {"reverse_charge", reverse_charge},
    {"seller", seller},
    {"buyer", buyer},
    {"version", version},
  };
  if (!service_id.empty())
    out["service_id"] = service_id;
  if (!refers_to.empty()) {
    out["refers_to"] = refers_to;
    out["refers_to_number"] = refers_to_number;
  }
  if (!invoice_id.empty())
    out["invoice_id"] = invoice_id;
  if (!credit_notes.empty()) {
    json::array notes;
    for (const auto& n : credit_notes)
      notes.push_back(json::value(n));
    out["credit_notes"] = std::move(notes);
  }
  if (!cancel_reason.empty())
    out["cancel_reason"] = cancel_reason;
  if (created_us != 0)
    out["created_at"] = time_text(created_us);
  if (updated_us != 0)
    out["updated_at"] = time_text(updated_us);
  return out;
}

} // namespace billow::billing
