#pragma once

#include <string>

#include "actors/aggregate.hpp"
#include "events/errc.hpp"

namespace billow::test {

/// A decision as the transition tables write it: its events' types one
/// after the other, or the name of its error code.
inline std::string outcome(const actors::decision& d) {
  if (!d)
    return to_string(errc_of(d.error()));
  std::string out;
  for (const auto& e : *d)
    out += e.type;
  return out;
}

} // namespace billow::test
