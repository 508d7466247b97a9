#pragma once

#include <cstdint>

#include "modules/sdk/module.hpp"
#include "modules/sdk/version.hpp"

/// What a module's shared object hands the loader through its one C entry
/// point, `billow_module_entry`. The first two fields keep their place in
/// every SDK version, so the loader can read them before trusting the rest.
extern "C" {

struct billow_module_descriptor {
  /// The SDK version the shared object was compiled against.
  uint32_t sdk_major;
  uint32_t sdk_minor;
  /// Makes the module object (nullptr if construction failed).
  billow::modules::sdk::module* (*create)();
  /// Destroys an object made by `create` (inside the shared object, so the
  /// matching allocator frees it).
  void (*destroy)(billow::modules::sdk::module*);
};

} // extern "C"

/// The signature of the entry point.
using billow_module_entry_fn = const billow_module_descriptor* (*)();

/// The entry point's symbol name.
#define BILLOW_MODULE_ENTRY_SYMBOL "billow_module_entry"

/// Defines the entry point of a module's shared object for class
/// `class_name` (a subclass of product, plugin, payment or notification with
/// a default constructor). Use it once, at namespace scope, in one .cpp file.
#define BILLOW_MODULE(class_name)                                              \
  extern "C" __attribute__((visibility("default")))                            \
  const billow_module_descriptor*                                              \
  billow_module_entry() {                                                      \
    static const billow_module_descriptor descriptor{                          \
      static_cast<uint32_t>(::billow::modules::sdk::sdk_version_major),        \
      static_cast<uint32_t>(::billow::modules::sdk::sdk_version_minor),        \
      []() noexcept -> ::billow::modules::sdk::module* {                       \
        try {                                                                  \
          return new class_name();                                             \
        } catch (...) {                                                        \
          return nullptr;                                                      \
        }                                                                      \
      },                                                                       \
      [](::billow::modules::sdk::module* m) {                                  \
        delete m;                                                              \
      }};                                                                      \
    return &descriptor;                                                        \
  }
