#include "modules/sdk/errors.hpp"

namespace billow::modules::sdk {

namespace {

constexpr std::string_view not_supported_prefix = "not supported: ";

} // namespace

caf::error make_not_supported(std::string_view what) {
  std::string detail{not_supported_prefix};
  detail += what;
  return make_error(billow_errc::not_found, std::move(detail));
}

bool is_not_supported(const caf::error& err) {
  return errc_of(err) == billow_errc::not_found
    && detail_of(err).starts_with(not_supported_prefix);
}

} // namespace billow::modules::sdk
