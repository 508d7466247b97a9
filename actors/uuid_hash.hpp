#pragma once

#include <cstring>
#include <functional>

#include "events/uuid.hpp"

namespace billow::actors {

/// Hashes a UUID for unordered containers (its bytes are already random).
struct uuid_hash {
  size_t operator()(const events::uuid& x) const noexcept {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, x.bytes.data(), 8);
    std::memcpy(&b, x.bytes.data() + 8, 8);
    return std::hash<uint64_t>{}(a ^ (b * 0x9E3779B97F4A7C15ull));
  }
};

} // namespace billow::actors
