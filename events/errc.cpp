#include "events/errc.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/make_message.hpp>

namespace billow {

std::string to_string(billow_errc x) {
  switch (x) {
    case billow_errc::none: return "none";
    case billow_errc::invalid_argument: return "invalid_argument";
    case billow_errc::not_found: return "not_found";
    case billow_errc::wrong_expected_version: return "wrong_expected_version";
    case billow_errc::invalid_transition: return "invalid_transition";
    case billow_errc::already_exists: return "already_exists";
    case billow_errc::storage_error: return "storage_error";
    case billow_errc::data_dir_locked: return "data_dir_locked";
    case billow_errc::corruption: return "corruption";
    case billow_errc::unavailable: return "unavailable";
    case billow_errc::timeout: return "timeout";
    case billow_errc::module_failure: return "module_failure";
    case billow_errc::permission_denied: return "permission_denied";
    case billow_errc::internal: return "internal";
    case billow_errc::storage_full: return "storage_full";
    case billow_errc::storage_unavailable: return "storage_unavailable";
    case billow_errc::insufficient_funds: return "insufficient_funds";
  }
  return "unknown";
}

caf::error make_error(billow_errc x) {
  return caf::error{static_cast<uint8_t>(x), billow_error_category};
}

caf::error make_error(billow_errc x, std::string detail) {
  return caf::error{static_cast<uint8_t>(x), billow_error_category,
                    caf::make_message(std::move(detail))};
}

billow_errc errc_of(const caf::error& err) {
  if (!err)
    return billow_errc::none;
  if (err.category() != billow_error_category)
    return billow_errc::internal;
  return static_cast<billow_errc>(err.code());
}

std::string detail_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

void register_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(
    billow_error_category,
    [](uint8_t code, caf::atom_value, const caf::message& ctx) {
      auto out = "billow: " + to_string(static_cast<billow_errc>(code));
      if (ctx.size() == 1 && ctx.match_element<std::string>(0))
        out += " (" + ctx.get_as<std::string>(0) + ")";
      return out;
    });
}

} // namespace billow
