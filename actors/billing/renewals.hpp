#pragma once

// The renewal decision of invoice mode (docs/api.md, "The two billing
// modes"): which periods of a service are due for an invoice by a date, from
// what the billing projection knows of its invoices. The one decision the
// billing run acts on and the preview shows: both call `renewals_due`.
//
// Period k of a service starts k periods after its anchor (periods.hpp, the
// day clamped to the month's end). The next period is the first one that
// starts after `billed_until`; every period that starts on or before the
// window's end (today + `invoice_days_in_advance`) is due, one invoice each,
// in order. A renewal invoice's id derives from (service, period start), so
// a repeated run, or one repeated after a crash, writes nothing: the account
// actor answers the invoice that exists.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "events/uuid.hpp"

namespace billow::billing {

/// What the decision needs of one invoice-mode service.
struct renewal_input {
  std::string service_id;
  std::string client_id;
  std::string product_name;
  std::string period;
  /// The first invoiced period's start, `YYYY-MM-DD`.
  std::string anchor;
  /// The last invoiced period's end (empty: none invoiced yet).
  std::string billed_until;
  /// The price of `period` in the client's currency, as the API writes it
  /// ("9.90"), and in minor units.
  std::string amount;
  int64_t amount_minor = 0;
  std::string currency;
};

/// One renewal invoice to issue: the `invoice.renewal` command's input.
struct renewal {
  events::uuid invoice_id;
  std::string client_id;
  std::string service_id;
  std::string product_name;
  std::string period;
  std::string amount;
  int64_t amount_minor = 0;
  std::string currency;
  std::string period_from;
  std::string period_to;
  /// The period's start: a renewal is due when its period begins.
  std::string due_date;

  /// `{service_id, product_name, period, amount, period_from, period_to,
  /// due_date}` as the account actor's `invoice.renewal` reads it.
  std::string body() const;
};

/// The line of a service's period on its invoices: `Web hosting (monthly)`.
std::string renewal_description(std::string_view product_name,
                                std::string_view period);

/// The id of the renewal invoice of `service_id`'s period starting on
/// `period_from`.
events::uuid renewal_invoice_id(std::string_view service_id,
                                std::string_view period_from);

/// The last date a run at `now_us` invoices periods starting on or before:
/// today (UTC) plus `days_in_advance`.
std::string renewal_window_end(int64_t now_us, int days_in_advance);

/// The renewals of `in` due by `until` (`YYYY-MM-DD`), in period order; at
/// most `max`. A period whose invoice `exists` already (an invoice that was
/// cancelled, so it does not count as billed) is skipped, not issued again.
caf::expected<std::vector<renewal>>
renewals_due(const renewal_input& in, std::string_view until,
             const std::function<bool(const events::uuid&)>& exists,
             size_t max = 1000);

} // namespace billow::billing
