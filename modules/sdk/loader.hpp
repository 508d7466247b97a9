#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modules/sdk/manifest.hpp"
#include "modules/sdk/module.hpp"

namespace billow::modules::sdk {

/// Why the loader refused a module folder.
enum class refusal_reason {
  /// No module.json in the folder.
  manifest_missing,
  /// module.json is not valid JSON or lacks a required field.
  manifest_invalid,
  /// module.json's type, or the `{Type}` folder, is not one of the four.
  unknown_type,
  /// module.json's type differs from the `{Type}` folder or the object's.
  type_mismatch,
  /// The folder's name differs from module.json's name.
  name_mismatch,
  /// module.json's or the shared object's SDK version does not fit this SDK.
  sdk_mismatch,
  /// No `lib{Name}.so` in the folder.
  shared_object_missing,
  /// dlopen refused the shared object (bad ELF, missing symbols, ...).
  shared_object_unloadable,
  /// The shared object has no `billow_module_entry`.
  entry_point_missing,
  /// The entry point gave no module object (its constructor threw).
  construction_failed,
};

/// `sdk_mismatch`, `name_mismatch`, ...
const char* to_string(refusal_reason x);

/// A refusal with the human-readable reason.
struct refusal {
  refusal_reason reason;
  std::string message;
};

/// What the loader found in one module folder: a plain value the integrator
/// records as an event (discovered or refused).
struct scan_entry {
  /// The module's folder.
  std::filesystem::path dir;
  /// The `{Type}` folder's name as found (e.g. `Product`).
  std::string type_folder;
  /// The `{Name}` folder's name.
  std::string folder_name;
  /// module.json, when it parsed.
  std::optional<module_manifest> manifest;
  /// Set when the module was refused; `instance` is then empty.
  std::optional<refusal> refused;
  /// The module object, when loaded. It keeps its shared object open.
  std::shared_ptr<module> instance;

  bool loaded() const noexcept {
    return instance != nullptr;
  }
};

/// Whether a module built against SDK `v` runs on this SDK: same major,
/// minor not newer than ours.
bool sdk_compatible(const semantic_version& v) noexcept;

/// Loads the module in `dir` (`.../{Type}/{Name}`): checks module.json, the
/// folder names and the SDK version, then dlopens `lib{Name}.so`, checks the
/// entry point's SDK version and makes the object. Never throws.
scan_entry load_module(const std::filesystem::path& dir);

/// Walks `root/{Type}/{Name}/` (sorted by path) and loads each folder; a
/// refused folder does not stop the others. Under a `{Type}` folder that is
/// not one of the four, only folders holding a module.json count (and are
/// refused as `unknown_type`), so build-system folders beside the modules are
/// ignored; so are hidden folders. A missing root gives no entries.
std::vector<scan_entry> scan_modules(const std::filesystem::path& root);

} // namespace billow::modules::sdk
