#pragma once

// The billing settings (`GET/PUT /api/v1/admin/billing/settings`, api.md
// "Billing settings"): what the billing automation, the tax engine and the
// invoice numbering read. Pure values and their checks; the aggregate that
// keeps them in the log is elsewhere.
//
// `PUT` is a partial update: the keys of the body replace those of the
// current settings, the others stay. `number_formats` and `company` are
// merged the same way, key by key; `late_fee` is replaced whole, since what
// its `amount` is depends on its `type`. `GET` answers every key.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "actors/billing/fields.hpp"
#include "actors/billing/money.hpp"

namespace billow::billing {

/// How a client's services are paid (api.md, "The two billing modes").
enum class billing_mode {
  /// Invoices, paid by gateway or by hand (WHMCS-style).
  invoice,
  /// The client's balance pays each period or hour (PUQcloud-style).
  prepaid,
};

/// "invoice" or "prepaid".
std::string_view to_string(billing_mode x);

/// What a late fee is.
enum class late_fee_type {
  /// No late fee.
  none,
  /// A percentage of the invoice's total.
  percent,
  /// A fixed amount, set per currency.
  fixed,
};

/// "none", "percent" or "fixed".
std::string_view to_string(late_fee_type x);

/// The fee added once to an invoice when it becomes overdue.
///
/// JSON: `{"type": "none"}`, `{"type": "percent", "amount": "5.00"}` (a rate
/// string, above 0 and at most 100) or `{"type": "fixed", "amount": {"EUR":
/// "5.00", "JPY": "700"}}`: one money string per currency, each with that
/// currency's decimals and above 0, since clients are billed in their own
/// currencies and no rate converts between them. An invoice in a currency
/// the map lacks gets no fixed late fee.
struct late_fee_rule {
  late_fee_type type = late_fee_type::none;
  /// With `percent`: the share of the invoice's total.
  rate percent;
  /// With `fixed`: the fee in minor units by ISO 4217 code.
  std::map<std::string, int64_t, std::less<>> fixed;

  friend bool operator==(const late_fee_rule&, const late_fee_rule&) = default;
};

/// How each series' sequence becomes an invoice number (`format_number`).
struct number_format_settings {
  std::string invoice = "INV-{YYYY}-{NNNNNN}";
  std::string proforma = "PRO-{YYYY}-{NNNNNN}";
  std::string credit_note = "CN-{YYYY}-{NNNNNN}";

  friend bool
  operator==(const number_format_settings&, const number_format_settings&)
    = default;
};

/// The seller on every invoice and in every notification layout. Empty
/// strings are not set.
struct company_details {
  std::string name;
  /// The postal address, one printed line each (street, postcode and city,
  /// country), as `invoice_party::address` prints it. JSON: an array of
  /// strings.
  std::vector<std::string> address;
  std::string tax_id;
  std::string email;
  /// An http or https URL of the logo.
  std::string logo_url;

  friend bool operator==(const company_details&, const company_details&)
    = default;
};

/// The largest day count a setting takes (ten years).
inline constexpr int max_setting_days = 3650;

/// Every billing setting with its default (api.md, "Billing settings").
/// Day counts are from 0 to `max_setting_days`.
struct billing_settings {
  /// The billing mode of new clients.
  billing_mode default_mode = billing_mode::invoice;
  /// How many days before a service's next due date its renewal invoice is
  /// issued.
  int invoice_days_in_advance = 14;
  /// The days before the due date on which an unpaid invoice is reminded
  /// (0: on the due date), strictly increasing.
  std::vector<int> reminder_days_before_due = {3};
  /// The days after the due date on which an overdue invoice is reminded,
  /// each at least 1, strictly increasing.
  std::vector<int> overdue_reminder_days = {1, 7};
  /// The days after the due date when an unpaid renewal suspends its service.
  int suspend_after_days_overdue = 3;
  /// The days after the due date when it terminates the service; never less
  /// than `suspend_after_days_overdue`.
  int terminate_after_days_overdue = 30;
  late_fee_rule late_fee;
  /// Whether the client's balance pays new invoices at once.
  bool apply_credit = true;
  /// Whether item amounts are gross (tax taken out) rather than net.
  bool prices_include_tax = false;
  /// `billing::` qualifies the type: the member has the type's name.
  billing::tax_rounding tax_rounding = billing::tax_rounding::per_invoice;
  number_format_settings number_formats;
  /// Whether cancelling a service now credits its unused time.
  bool credit_unused_on_cancel = false;
  company_details company;

  friend bool operator==(const billing_settings&, const billing_settings&)
    = default;
};

/// Applies the body of `PUT /api/v1/admin/billing/settings` to `current`: the
/// keys given replace the current ones (`number_formats` and `company` key by
/// key, `late_fee` whole), the others stay.
///
/// Refuses, each under its path (`late_fee.amount`, `number_formats.invoice`,
/// `company.address[1]`): unknown keys; values of the wrong JSON type
/// (`14.0` or `"14"` for a day count); day counts outside 0 to
/// `max_setting_days`; day lists that are not strictly increasing, and an
/// overdue reminder on day 0; `terminate_after_days_overdue` less than
/// `suspend_after_days_overdue` (after the update); a late fee whose `amount`
/// does not fit its `type` (`late_fee_rule`); a number format without
/// exactly one sequence placeholder `{N...}`, with an unknown placeholder or
/// a stray brace, or longer than 64 characters; a company `email` that is not
/// an address, a `logo_url` that is not http(s), text with control
/// characters or too long. Empty company strings unset them.
validated<billing_settings>
apply_settings_update(const billing_settings& current,
                      const boost::json::object& body);

/// The settings as `GET` answers them and as an event stores them, every key
/// present; `tax_rounding` and the modes as their names, the late fee as in
/// `late_fee_rule`.
boost::json::object to_json(const billing_settings& settings);

/// Reads back what `to_json` wrote: `apply_settings_update` on the defaults,
/// so a key an older event lacks keeps its default.
validated<billing_settings> settings_from_json(const boost::json::object& obj);

/// The number of the `sequence`-th document of a series issued in `year`
/// (0 to 9999), by `format`: `{YYYY}` is the year in 4 digits, `{YY}` its
/// last 2, `{N}` the sequence, `{NNNN}` the sequence zero-padded to as many
/// digits as there are Ns (a longer sequence is not cut). Other text,
/// unknown placeholders included, is copied as is.
///
///     format_number("INV-{YYYY}-{NNNNNN}", 1, 2026) == "INV-2026-000001"
std::string format_number(std::string_view format, uint64_t sequence, int year);

} // namespace billow::billing
