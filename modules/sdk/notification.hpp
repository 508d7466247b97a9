#pragma once

#include "modules/sdk/module.hpp"

namespace billow::modules::sdk {

/// A module that delivers messages over one channel (the seed's
/// `Notification`): e-mail, SMS, chat.
class notification : public module {
public:
  module_type type() const noexcept final {
    return module_type::notification;
  }

  /// `getModuleData`: the channel's settings (server, credentials, ...) with
  /// defaults. Default: `data`.
  virtual boost::json::object
  get_module_data(const boost::json::object& data) const;

  /// `send($data)`: validates and delivers one message; answers a delivery
  /// record (`{"status": "success", ...}`). Validation failures are
  /// `billow_errc::invalid_argument` whose detail is the seed's 422 answer as
  /// JSON: `{"status":"error","code":422,"errors":{"field":["why"]}}`.
  /// Default: not supported.
  virtual caf::expected<boost::json::object>
  send(const boost::json::object& data);
};

} // namespace billow::modules::sdk
