#pragma once

#include "events/uuid.hpp"

namespace billow::actors {

/// Hashes a UUID for unordered containers (defined beside `uuid`).
using uuid_hash = events::uuid_hash;

} // namespace billow::actors
