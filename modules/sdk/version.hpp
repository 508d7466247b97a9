#pragma once

namespace billow::modules::sdk {

/// The module SDK's version. A module's `module.json` names the SDK version it
/// was built against; the loader refuses a module whose major version differs.
inline constexpr int sdk_version_major = 1;
inline constexpr int sdk_version_minor = 0;

} // namespace billow::modules::sdk
