#pragma once

#include <filesystem>
#include <string>

#include <caf/expected.hpp>

namespace billow::vault {

/// Reads a 32-byte key from `path`, creating it (random, mode 0600) when
/// missing. The data directory's keys live in its `keys/` folder.
caf::expected<std::string>
load_or_create_key(const std::filesystem::path& path);

} // namespace billow::vault
