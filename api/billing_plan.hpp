#pragma once

// What the billing run finds due, read from the billing projection (which
// services are invoiced up to when), the provisioning projection (their
// status, period, product and the product's prices) and the billing
// settings; the decision itself is billing::renewals_due. The billing
// scheduler acts on it (api/application.cpp wires it), the preview answers
// it: one code for both.

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

#include "actors/billing/billing_config.hpp"
#include "actors/billing/billing_scheduler.hpp"
#include "projections/billing.hpp"
#include "projections/provisioning.hpp"

namespace billow::api {

struct billing_plan_sources {
  std::shared_ptr<const projections::billing_projection> billing;
  std::shared_ptr<const projections::provisioning> provisioning;
  std::shared_ptr<const billing::billing_config> config;
};

/// What a run on `date` (`YYYY-MM-DD`) does: the renewal invoices of every
/// invoice-mode service that is active or suspended (not pending,
/// terminated or cancelled), for each period that starts on or before
/// `date` + `invoice_days_in_advance`; of `client_id`'s services only, when
/// not empty. A service without a price of its period in its client's
/// currency is left out (and logged).
caf::expected<billing::run_plan> plan_billing(const billing_plan_sources& src,
                                              std::string_view date,
                                              std::string_view client_id = {});

/// Sets `next_due_date` (the day after the last paid period, when one is
/// paid) and `billed_until` (the last invoiced period's end, null when none)
/// of service `id` in its answer `out`, from `billing`; `next_due_date`
/// stays as it is while nothing is paid.
void add_service_billing(boost::json::object& out,
                         const projections::billing_projection* billing,
                         std::string_view id);

} // namespace billow::api
