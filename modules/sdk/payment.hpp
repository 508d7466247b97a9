#pragma once

#include <string>
#include <utility>
#include <vector>

#include "modules/sdk/module.hpp"

namespace billow::modules::sdk {

/// A callback from a payment gateway, without HTTP types.
struct webhook_request {
  /// The gateway instance the callback addresses.
  std::string gateway_uuid;
  std::vector<std::pair<std::string, std::string>> headers;
  boost::json::object query;
  /// The raw body (signatures are computed over it).
  std::string body;
};

/// What to answer a gateway's callback.
struct webhook_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

/// A refund asked of the gateway.
struct refund_request {
  std::string gateway_uuid;
  std::string transaction_id;
  /// Amount in minor units (cents).
  int64_t amount_minor = 0;
  std::string currency;
  std::string reason;
};

/// A module that takes payments through a gateway (the seed's `Payment`).
class payment : public module {
public:
  module_type type() const noexcept final {
    return module_type::payment;
  }

  /// `getModuleData`: the gateway's settings with defaults. Default: `data`.
  virtual boost::json::object
  get_module_data(const boost::json::object& data) const;

  /// `getSettingsPage`: the admin's gateway settings form. Default: not
  /// supported.
  virtual caf::expected<std::string>
  get_settings_page(const boost::json::object& data) const;

  /// `getClientAreaHtml`: the checkout form or session for an invoice.
  /// Default: not supported.
  virtual caf::expected<std::string>
  get_client_area_html(const boost::json::object& data) const;

  /// `getReturnUrl`: where the gateway sends the client after paying.
  /// Default: `return_url` of the module configuration, else not supported.
  virtual caf::expected<std::string>
  get_return_url(const boost::json::object& data) const;

  /// `getCancelUrl`: where the gateway sends a client who cancels.
  /// Default: `cancel_url` of the module configuration, else not supported.
  virtual caf::expected<std::string>
  get_cancel_url(const boost::json::object& data) const;

  /// `apiWebhookPost`. Default: not supported.
  virtual caf::expected<webhook_response>
  api_webhook_post(const webhook_request& req);

  /// `apiWebhookGet`. Default: not supported.
  virtual caf::expected<webhook_response>
  api_webhook_get(const webhook_request& req);

  /// Refunds (part of) a transaction; answers the gateway's refund record.
  /// Default: not supported.
  virtual caf::expected<boost::json::object> refund(const refund_request& req);
};

} // namespace billow::modules::sdk
