#pragma once

// What the billing route families share (docs/api.md, "Admin: billing"):
// their backend, and the shape of a billing handler. Every command is one
// message to the billing registry (the client's account actor decides it,
// actors/billing/billing.hpp), answered with the invoice or account as the
// command left it and `X-Billow-Position`. Money fields are the API's
// strings, parsed by the account actor in the client's currency; its field
// errors come back as 422s naming the field. Lists read the billing
// projection and take `?min_position=`.
//
//   billing_settings_routes  settings, tax rules        billing.read/write
//   invoice_routes           invoices, payments, refunds invoices.*,
//                                                        payments.refund
//   account_routes           account, ledger, adjustments, PUT client
//   client_billing_routes    the client area's invoices, account, add-funds
//   billing_run_routes       the billing run and its preview  billing.*

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "actors/billing/billing.hpp"
#include "actors/billing/billing_config.hpp"
#include "actors/billing/billing_scheduler.hpp"
#include "api/auth.hpp"
#include "api/json_body.hpp"
#include "api/route_helpers.hpp"
#include "api/router.hpp"
#include "events/writer.hpp"
#include "projections/billing.hpp"
#include "projections/provisioning.hpp"
#include "vault/vault.hpp"

namespace billow::events {
class event_store;
} // namespace billow::events

namespace billow::api {

/// What the billing routes talk to.
struct billing_backend {
  events::event_store* store = nullptr;
  events::writer_actor writer;
  billing::billing_registry_actor billing;
  std::shared_ptr<billing::billing_config> config;
  std::shared_ptr<projections::billing_projection> projection;
  /// How long a read waits for `?min_position=`.
  std::chrono::milliseconds read_wait = std::chrono::seconds(5);
  vault::stores vault = {};
  /// The billing run (api/billing_run_routes) and what it plans from.
  billing::billing_scheduler_actor scheduler = {};
  std::shared_ptr<projections::provisioning> provisioning = nullptr;
  actors::clock* clock = nullptr;
};

/// What a billing family's handlers share (named_route's `Env`).
struct billing_env {
  std::shared_ptr<const auth_context> auth;
  std::shared_ptr<const billing_backend> be;
};

/// Adds a billing family's `table` with the handlers' `billing_env`.
void add_billing_table(route_table& routes,
                       const std::shared_ptr<const auth_context>& auth,
                       billing_backend backend,
                       std::vector<named_route<billing_env>> table);

/// `If-Match` as the version a command expects, -1 when absent.
int64_t expected_of(const request_context& ctx, field_checker& check,
                    std::string_view what);

/// The body as an object; false after answering 400/422.
bool read_body(const request_context& ctx, boost::json::object& body);

/// A refusal of the account actor as HTTP: a field's (`amount: ...`) as a
/// 422 naming the field, the others as `error_response` maps them.
http_response billing_error(const caf::error& err);

/// A billing command of the caller (actor, Idempotency-Key, a correlation
/// id; a client caller owns it, so anyone else's invoice is a 404).
billing::billing_command command_of(const request_context& ctx, std::string op,
                                    const boost::json::object& body);

using reply_fn
  = std::function<void(const request_context&, const billing::billing_reply&)>;

/// Sends `cmd` to the billing registry and answers through `on_reply`
/// (default: the entity, `created_status` when the command created it, else
/// 200), errors as `billing_error`; 504 after `ask_timeout`.
void ask_billing(const request_context& ctx,
                 const std::shared_ptr<const billing_backend>& be,
                 billing::billing_command cmd, unsigned created_status = 201,
                 reply_fn on_reply = {});

/// Renders the invoice of `r` (personal values revealed) as a PDF on the
/// blocking pool and answers it as `application/pdf`.
void answer_pdf(const auth_context& auth, const request_context& ctx,
                const billing::billing_reply& r);

/// A money field that must be there and be a string ("12.50").
void money_required(const boost::json::object& body, std::string_view field,
                    field_checker& check);

/// The invoice filter of `?status=&type=&client_id=`.
projections::invoice_filter invoice_filter_of(const request_context& ctx,
                                              field_checker& check);

/// A page of the invoice list of `filter`, once the projection reached
/// `lp.min_position`.
void answer_invoice_list(const request_context& ctx, const auth_context& auth,
                         const std::shared_ptr<const billing_backend>& be,
                         projections::invoice_filter filter, list_params lp);

http_response with_position(http_response resp, uint64_t position);

/// Answers the entity of `r`: 201 when the command wrote it now, 200 when
/// it was there before (a repeated payment, a retried Idempotency-Key).
void created_unless_repeated(const request_context& ctx,
                             const billing::billing_reply& r);

/// The UUID path parameter `id` and the body; none after answering 404,
/// 400 or 422.
std::optional<events::uuid> id_with_body(const request_context& ctx,
                                         boost::json::object& body);

/// `GET .../invoices/{id}` and its `/pdf`, for an admin and for the client
/// that owns the invoice (`command_of` makes a client caller its owner, so
/// anyone else's is a 404).
void get_invoice(const request_context& ctx, const billing_env& env);
/// `GET .../invoices?status=&type=&client_id=`: a client's own only.
void list_invoices(const request_context& ctx, const billing_env& env);
void invoice_pdf(const request_context& ctx, const billing_env& env);

/// A `validated` value's problems as the 422 naming each field.
http_response
problems_response(const std::vector<billing::field_problem>& problems);

} // namespace billow::api
