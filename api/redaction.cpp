#include "api/redaction.hpp"

#include <boost/json.hpp>

#include "modules/sdk/secret_box.hpp"

namespace billow::api {

void redact_secrets(boost::json::value& v) {
  using modules::sdk::secret_box;
  if (auto* obj = v.if_object()) {
    for (auto& [key, val] : *obj) {
      bool sealed = val.is_string()
        && std::string_view{val.as_string()}.substr(0,
                                                    secret_box::prefix.size())
          == secret_box::prefix;
      if (sealed || modules::sdk::looks_secret(key))
        val = "[redacted]";
      else
        redact_secrets(val);
    }
  } else if (auto* arr = v.if_array()) {
    for (auto& val : *arr)
      redact_secrets(val);
  }
}

} // namespace billow::api
