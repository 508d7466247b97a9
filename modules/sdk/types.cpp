// The defaults of the plugin, payment and notification base classes.
#include "modules/sdk/notification.hpp"
#include "modules/sdk/payment.hpp"
#include "modules/sdk/plugin.hpp"

namespace billow::modules::sdk {

std::vector<scheduled_job> plugin::schedule() const {
  return {};
}

boost::json::object
payment::get_module_data(const boost::json::object& data) const {
  return data;
}

caf::expected<std::string>
payment::get_settings_page(const boost::json::object&) const {
  return make_not_supported("get_settings_page");
}

caf::expected<std::string>
payment::get_client_area_html(const boost::json::object&) const {
  return make_not_supported("get_client_area_html");
}

caf::expected<std::string>
payment::get_return_url(const boost::json::object&) const {
  if (auto url = config("return_url"); url.is_string())
    return std::string{url.get_string()};
  return make_not_supported("get_return_url");
}

caf::expected<std::string>
payment::get_cancel_url(const boost::json::object&) const {
  if (auto url = config("cancel_url"); url.is_string())
    return std::string{url.get_string()};
  return make_not_supported("get_cancel_url");
}

caf::expected<webhook_response>
payment::api_webhook_post(const webhook_request&) {
  return make_not_supported("api_webhook_post");
}

caf::expected<webhook_response>
payment::api_webhook_get(const webhook_request&) {
  return make_not_supported("api_webhook_get");
}

caf::expected<boost::json::object> payment::refund(const refund_request&) {
  return make_not_supported("refund");
}

boost::json::object
notification::get_module_data(const boost::json::object& data) const {
  return data;
}

caf::expected<boost::json::object>
notification::send(const boost::json::object&) {
  return make_not_supported("send");
}

} // namespace billow::modules::sdk
