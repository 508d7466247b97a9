#include "modules/sdk/loader.hpp"

#include <algorithm>

#include <dlfcn.h>

#include "events/errc.hpp"
#include "modules/sdk/entry.hpp"
#include "modules/sdk/version.hpp"

namespace billow::modules::sdk {

const char* to_string(refusal_reason x) {
  switch (x) {
    case refusal_reason::manifest_missing: return "manifest_missing";
    case refusal_reason::manifest_invalid: return "manifest_invalid";
    case refusal_reason::unknown_type: return "unknown_type";
    case refusal_reason::type_mismatch: return "type_mismatch";
    case refusal_reason::name_mismatch: return "name_mismatch";
    case refusal_reason::sdk_mismatch: return "sdk_mismatch";
    case refusal_reason::shared_object_missing: return "shared_object_missing";
    case refusal_reason::shared_object_unloadable:
      return "shared_object_unloadable";
    case refusal_reason::entry_point_missing: return "entry_point_missing";
    case refusal_reason::construction_failed: return "construction_failed";
  }
  return "unknown";
}

bool sdk_compatible(const semantic_version& v) noexcept {
  return v.major == sdk_version_major && v.minor <= sdk_version_minor;
}

namespace {

std::string sdk_text() {
  return std::to_string(sdk_version_major) + "."
    + std::to_string(sdk_version_minor);
}

// Marks `e` refused and moves it out as the result. `e` is taken by reference
// so that the message, which often quotes `e` and its manifest, is built
// before anything is moved from it (argument evaluation order is unspecified).
scan_entry refuse(scan_entry& e, refusal_reason r, std::string msg) {
  e.refused = refusal{r, std::move(msg)};
  return std::move(e);
}

} // namespace

scan_entry load_module(const std::filesystem::path& dir) {
  scan_entry e;
  e.dir = dir;
  e.folder_name = dir.filename().string();
  e.type_folder = dir.parent_path().filename().string();
  auto manifest = read_manifest(dir / "module.json");
  if (!manifest) {
    auto detail = detail_of(manifest.error());
    if (errc_of(manifest.error()) == billow_errc::not_found)
      return refuse(e, refusal_reason::manifest_missing, detail);
    if (detail.starts_with("unknown type"))
      return refuse(e, refusal_reason::unknown_type, detail);
    return refuse(e, refusal_reason::manifest_invalid, detail);
  }
  e.manifest = *manifest;
  const auto& m = *e.manifest;
  auto folder_type = parse_module_type(e.type_folder);
  if (!folder_type)
    return refuse(e, refusal_reason::unknown_type,
                  "folder type '" + e.type_folder
                    + "' is not Product, Plugin, Payment or Notification");
  if (*folder_type != m.type)
    return refuse(e, refusal_reason::type_mismatch,
                  "module.json says type " + std::string{to_string(m.type)}
                    + " but the module sits under " + e.type_folder + "/");
  if (e.folder_name != m.name)
    return refuse(e, refusal_reason::name_mismatch,
                  "folder '" + e.folder_name
                    + "' does not match module.json "
                      "name '"
                    + m.name + "'");
  if (!sdk_compatible(m.sdk_version))
    return refuse(e, refusal_reason::sdk_mismatch,
                  "module.json needs SDK " + std::to_string(m.sdk_version.major)
                    + "." + std::to_string(m.sdk_version.minor)
                    + ", this Billow has SDK " + sdk_text());
  auto so = dir / ("lib" + m.name + ".so");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(so, ec))
    return refuse(e, refusal_reason::shared_object_missing,
                  "no shared object " + so.string());
  void* raw = ::dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (raw == nullptr) {
    const char* why = ::dlerror();
    return refuse(e, refusal_reason::shared_object_unloadable,
                  "dlopen " + so.string() + ": "
                    + (why != nullptr ? why : "unknown error"));
  }
  std::shared_ptr<void> handle{raw, [](void* h) {
                                 ::dlclose(h);
                               }};
  ::dlerror();
  auto entry = reinterpret_cast<billow_module_entry_fn>(
    ::dlsym(raw, BILLOW_MODULE_ENTRY_SYMBOL));
  if (entry == nullptr)
    return refuse(e, refusal_reason::entry_point_missing,
                  so.string() + " has no " BILLOW_MODULE_ENTRY_SYMBOL);
  const auto* desc = entry();
  if (desc == nullptr)
    return refuse(e, refusal_reason::entry_point_missing,
                  so.string() + ": entry point returned nothing");
  semantic_version built{static_cast<int>(desc->sdk_major),
                         static_cast<int>(desc->sdk_minor), 0};
  if (!sdk_compatible(built))
    return refuse(e, refusal_reason::sdk_mismatch,
                  so.string() + " was built against SDK "
                    + std::to_string(desc->sdk_major) + "."
                    + std::to_string(desc->sdk_minor) + ", this Billow has SDK "
                    + sdk_text());
  if (desc->create == nullptr || desc->destroy == nullptr)
    return refuse(e, refusal_reason::entry_point_missing,
                  so.string() + ": descriptor lacks create/destroy");
  module* obj = desc->create();
  if (obj == nullptr)
    return refuse(e, refusal_reason::construction_failed,
                  so.string() + ": the module's constructor failed");
  auto destroy = desc->destroy;
  // The deleter holds the handle: the code stays mapped until the object is
  // gone.
  std::shared_ptr<module> instance{obj, [destroy, handle](module* p) {
                                     destroy(p);
                                   }};
  if (instance->type() != m.type)
    return refuse(e, refusal_reason::type_mismatch,
                  "module.json says type " + std::string{to_string(m.type)}
                    + " but the object is a "
                    + std::string{to_string(instance->type())});
  e.instance = std::move(instance);
  return e;
}

std::vector<scan_entry> scan_modules(const std::filesystem::path& root) {
  std::vector<scan_entry> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec))
    return out;
  std::vector<std::filesystem::path> dirs;
  for (const auto& type_dir : std::filesystem::directory_iterator{root, ec}) {
    if (!type_dir.is_directory(ec))
      continue;
    auto known = parse_module_type(type_dir.path().filename().string());
    for (const auto& mod_dir :
         std::filesystem::directory_iterator{type_dir.path(), ec}) {
      if (!mod_dir.is_directory(ec)
          || mod_dir.path().filename().string().starts_with("."))
        continue;
      // Under a folder that is no module type, only a folder with a
      // module.json is a module someone meant (and is refused as such);
      // build-system folders and the like are skipped.
      if (known || std::filesystem::exists(mod_dir.path() / "module.json", ec))
        dirs.push_back(mod_dir.path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  out.reserve(dirs.size());
  for (const auto& d : dirs)
    out.push_back(load_module(d));
  return out;
}

} // namespace billow::modules::sdk
