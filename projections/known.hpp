#pragma once

// The projections a server runs, by name: what `billow serve` follows and
// `billow replay <name>` rebuilds.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "projections/projection.hpp"

namespace billow::projections {

/// The names of every known projection (`provisioning`, `jobs`).
std::vector<std::string> known_projections();

/// A new, empty projection named `name`; nullptr for an unknown name.
std::shared_ptr<projection> make_projection(std::string_view name);

/// The column families of every known projection, for opening a store.
std::vector<std::string> projection_column_families();

} // namespace billow::projections
