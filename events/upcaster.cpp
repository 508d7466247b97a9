#include "events/upcaster.hpp"

#include "events/envelope.hpp"
#include "events/errc.hpp"
#include "events/validation.hpp"

namespace billow::events {

caf::error upcaster_registry::add(std::string type, uint32_t from, uint32_t to,
                                  upcast_fn fn) {
  if (!fn)
    return make_error(billow_errc::invalid_argument, "upcaster is empty");
  return add(std::move(type), from, to,
             upcast_envelope_fn{[fn = std::move(fn)](const envelope& x) {
               return fn(x.payload);
             }});
}

caf::error upcaster_registry::add(std::string type, uint32_t from, uint32_t to,
                                  upcast_envelope_fn fn) {
  if (to <= from)
    return make_error(billow_errc::invalid_argument,
                      "upcaster must raise the schema number");
  if (!fn)
    return make_error(billow_errc::invalid_argument, "upcaster is empty");
  auto key = std::make_pair(std::move(type), from);
  if (steps_.count(key) != 0)
    return make_error(billow_errc::already_exists,
                      "an upcaster for " + key.first + " schema "
                        + std::to_string(from) + " exists already");
  steps_.emplace(std::move(key), step{to, std::move(fn)});
  return caf::none;
}

caf::error upcaster_registry::apply(envelope& x) const {
  // Schemas strictly increase at each step, so this loop terminates.
  for (;;) {
    auto i = steps_.find(std::make_pair(x.type, x.schema));
    if (i == steps_.end())
      return caf::none;
    auto lifted = i->second.fn(x);
    if (!lifted)
      return std::move(lifted.error());
    if (!is_json_object(*lifted))
      return make_error(billow_errc::internal,
                        "upcaster for " + x.type + " schema "
                          + std::to_string(x.schema)
                          + " did not produce a JSON object");
    x.payload = std::move(*lifted);
    x.schema = i->second.to;
  }
}

} // namespace billow::events
