#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "events/errc.hpp"

namespace billow::modules::sdk {

/// The error a base-class default answers for an optional method the module
/// does not implement (e.g. `refund` on a payment gateway without refunds).
///
/// It is `billow_errc::not_found` with a detail that starts with
/// `not supported: `, so the HTTP layer answers 404 and callers can tell it
/// apart with `is_not_supported`.
caf::error make_not_supported(std::string_view what);

/// Whether `err` came from `make_not_supported`.
bool is_not_supported(const caf::error& err);

} // namespace billow::modules::sdk
