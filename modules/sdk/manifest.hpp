#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

namespace billow::modules::sdk {

/// The four kinds of module of the seed. The folder `modules/{Type}/` and
/// `module.json`'s `type` spell them `Product`, `Plugin`, `Payment`,
/// `Notification`.
enum class module_type { product, plugin, payment, notification };

/// `Product`, `Plugin`, ... as written in folders and module.json.
std::string_view to_string(module_type x);

/// Parses `Product`, `Plugin`, `Payment` or `Notification` (exact case).
std::optional<module_type> parse_module_type(std::string_view text);

/// A dotted version `major.minor[.patch]`, compared numerically.
struct semantic_version {
  int major = 0;
  int minor = 0;
  int patch = 0;

  friend auto operator<=>(const semantic_version&, const semantic_version&)
    = default;
};

/// Parses `1`, `1.2` or `1.2.3` (missing parts are zero).
std::optional<semantic_version> parse_version(std::string_view text);

/// `major.minor.patch`.
std::string to_string(const semantic_version& v);

/// What a module's `module.json` says about it.
///
/// ```json
/// {"name": "postgres", "type": "Product", "version": "1.0.0",
///  "description": "PostgreSQL hosting", "author": "Billow",
///  "sdk_version": "1.0"}
/// ```
struct module_manifest {
  std::string name;
  module_type type = module_type::plugin;
  std::string version;
  std::string description;
  std::string author;
  semantic_version sdk_version;
  /// `hooks`: the event types the module listens to (optional).
  std::vector<std::string> hooks;
};

/// Parses and checks the text of a module.json. Errors are
/// `billow_errc::invalid_argument` naming the offending field; an unknown
/// `type` is reported with the detail prefix `unknown type`.
caf::expected<module_manifest> parse_manifest(std::string_view json_text);

/// Reads and parses `file`; a missing file is `billow_errc::not_found`.
caf::expected<module_manifest> read_manifest(const std::filesystem::path& file);

/// Renders `m` back to module.json's form.
boost::json::object to_json(const module_manifest& m);

} // namespace billow::modules::sdk
