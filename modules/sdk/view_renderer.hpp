#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

namespace billow::modules::sdk {

/// Renders a module's Mustache templates (the seed's Blade views).
///
/// `render("client_area.overview", data)` reads
/// `{module}/views/client_area/overview.mustache`, adds the strings of
/// `{module}/lang/{code}.json` under `lang` (falling back to `en.json`), and
/// renders with kainjow's mustache: `{{x}}` is HTML-escaped, `{{{x}}}` is not.
/// Numbers render in JSON form, `null` as nothing.
///
/// Templates are read and compiled on each call, never during static
/// initialisation; a renderer is cheap to copy and safe to share between
/// threads.
class view_renderer {
public:
  /// Renders from `module_dir`'s `views/` and `lang/` in language `lang_code`.
  view_renderer(std::filesystem::path module_dir, std::string lang_code);

  /// Renders template `name` (dots separate folders) with `data`. A missing
  /// template is `billow_errc::not_found`, a template that does not parse or
  /// a lang file that is not a JSON object `billow_errc::invalid_argument`.
  caf::expected<std::string> render(std::string_view name,
                                    const boost::json::object& data) const;

  /// Renders template text directly (for modules that build templates in
  /// code, and for tests).
  caf::expected<std::string> render_text(const std::string& template_text,
                                         const boost::json::object& data) const;

  /// The strings of `lang/{code}.json` (or `en.json`), empty when neither
  /// exists.
  caf::expected<boost::json::object> lang_strings() const;

  const std::filesystem::path& module_dir() const noexcept {
    return module_dir_;
  }

private:
  std::filesystem::path module_dir_;
  std::string lang_code_;
};

} // namespace billow::modules::sdk
