#pragma once

#include <boost/json/value.hpp>

namespace billow::api {

/// Replaces, anywhere in `v`, every value under a secret-looking key
/// (`modules::sdk::looks_secret`) and every sealed string with
/// "[redacted]": what callers without `secrets.read` see.
void redact_secrets(boost::json::value& v);

} // namespace billow::api
