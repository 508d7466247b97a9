#include "modules/sdk/lifecycle.hpp"

#include <exception>

#include "events/errc.hpp"
#include "modules/sdk/manifest.hpp"
#include "modules/sdk/module.hpp"

namespace billow::modules::sdk {

caf::expected<std::vector<lifecycle_step>>
plan_lifecycle(const module_record& record, const std::string& manifest_version,
               lifecycle_command command) {
  using step = lifecycle_step;
  auto to = parse_version(manifest_version);
  if (!to)
    return make_error(billow_errc::invalid_argument,
                      "module.json version '" + manifest_version
                        + "' does not parse");
  std::optional<semantic_version> from;
  if (record.version) {
    from = parse_version(*record.version);
    if (!from)
      return make_error(billow_errc::invalid_argument,
                        "recorded version '" + *record.version
                          + "' does not parse");
    if (*to < *from)
      return make_error(billow_errc::invalid_transition,
                        "module.json version " + manifest_version
                          + " is older than the recorded " + *record.version
                          + " (no downgrades)");
  }
  bool newer = from && *from < *to;
  std::vector<step> out;
  switch (command) {
    case lifecycle_command::start:
      if (record.active && newer)
        out.push_back(step{step::update, *record.version});
      break;
    case lifecycle_command::activate:
      if (!record.active)
        out.push_back(step{step::activate, {}});
      if (newer)
        out.push_back(step{step::update, *record.version});
      break;
    case lifecycle_command::deactivate:
      if (record.active)
        out.push_back(step{step::deactivate, {}});
      break;
  }
  return out;
}

caf::expected<void> run_lifecycle(module& target,
                                  const std::vector<lifecycle_step>& steps) {
  for (const auto& s : steps) {
    const char* name = s.kind == lifecycle_step::activate ? "activate"
      : s.kind == lifecycle_step::update                  ? "update"
                                                          : "deactivate";
    try {
      caf::expected<void> res = caf::unit;
      switch (s.kind) {
        case lifecycle_step::activate: res = target.activate(); break;
        case lifecycle_step::update: res = target.update(s.from_version); break;
        case lifecycle_step::deactivate: res = target.deactivate(); break;
      }
      if (!res)
        return res.error(); // expected<void> only offers a const error()
    } catch (const std::exception& ex) {
      return make_error(billow_errc::module_failure,
                        std::string{name} + " threw: " + ex.what());
    } catch (...) {
      return make_error(billow_errc::module_failure,
                        std::string{name} + " threw a non-standard exception");
    }
  }
  return caf::unit;
}

} // namespace billow::modules::sdk
