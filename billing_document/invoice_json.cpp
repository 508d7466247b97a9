#include "billing_document/invoice_json.hpp"

#include <boost/json.hpp>

namespace billow::billing {

namespace json = boost::json;

namespace {

std::string str(const json::object& obj, std::string_view key) {
  if (auto* v = obj.if_contains(key); v && v->is_string())
    return std::string{v->as_string()};
  return {};
}

invoice_party party_of(const json::object& invoice, std::string_view key) {
  invoice_party p;
  auto* v = invoice.if_contains(key);
  if (v == nullptr || !v->is_object())
    return p;
  const auto& o = v->as_object();
  p.name = str(o, "name");
  p.email = str(o, "email");
  p.tax_id = str(o, "tax_id");
  p.country = str(o, "country");
  if (auto* a = o.if_contains("address")) {
    if (a->is_string() && !a->as_string().empty())
      p.address.emplace_back(a->as_string());
    else if (a->is_array())
      for (const auto& line : a->as_array())
        if (line.is_string())
          p.address.emplace_back(line.as_string());
  }
  return p;
}

const json::array& array_at(const json::object& obj, std::string_view key) {
  static const json::array none;
  if (auto* v = obj.if_contains(key); v && v->is_array())
    return v->as_array();
  return none;
}

} // namespace

invoice_document document_of_invoice(const json::object& invoice) {
  invoice_document doc;
  auto type = str(invoice, "type");
  doc.title = type == "credit_note" ? "Credit note"
    : type == "proforma"            ? "Proforma"
                                    : "Invoice";
  doc.number = str(invoice, "number");
  doc.issue_date = str(invoice, "issue_date");
  doc.due_date = str(invoice, "due_date");
  if (auto paid = str(invoice, "paid_date"); !paid.empty())
    doc.paid_date = paid;
  doc.status = str(invoice, "status");
  doc.currency = str(invoice, "currency");
  doc.seller = party_of(invoice, "seller");
  doc.buyer = party_of(invoice, "buyer");
  for (const auto& v : array_at(invoice, "items")) {
    if (!v.is_object())
      continue;
    const auto& o = v.as_object();
    invoice_line line;
    line.description = str(o, "description");
    line.amount = str(o, "amount");
    auto from = str(o, "period_from");
    auto to = str(o, "period_to");
    if (!from.empty())
      line.period = from + " \u2013 " + to;
    doc.lines.push_back(std::move(line));
  }
  doc.subtotal = str(invoice, "subtotal");
  for (const auto& v : array_at(invoice, "taxes"))
    if (v.is_object()) {
      const auto& o = v.as_object();
      doc.taxes.push_back(
        invoice_tax{str(o, "name"), str(o, "rate") + "%", str(o, "amount")});
    }
  doc.total = str(invoice, "total");
  doc.amount_paid = str(invoice, "amount_paid");
  doc.amount_due = str(invoice, "amount_due");
  for (const auto& v : array_at(invoice, "transactions"))
    if (v.is_object()) {
      const auto& o = v.as_object();
      if (str(o, "type") == "refund")
        continue;
      doc.payments.push_back(
        invoice_payment{str(o, "time").substr(0, 10), str(o, "gateway"),
                        str(o, "transaction_id"), str(o, "amount")});
    }
  if (auto ref = str(invoice, "refers_to_number"); !ref.empty())
    doc.refers_to = ref;
  if (auto* rc = invoice.if_contains("reverse_charge"); rc && rc->is_bool())
    doc.reverse_charge = rc->as_bool();
  return doc;
}

} // namespace billow::billing
