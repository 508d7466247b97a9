#include "projections/known.hpp"

#include "projections/billing.hpp"
#include "projections/jobs.hpp"
#include "projections/provisioning.hpp"

namespace billow::projections {

std::vector<std::string> known_projections() {
  return {"provisioning", "jobs", "billing"};
}

std::shared_ptr<projection> make_projection(std::string_view name) {
  if (name == "provisioning")
    return std::make_shared<provisioning>();
  if (name == "jobs")
    return std::make_shared<jobs_projection>();
  if (name == "billing")
    return std::make_shared<billing_projection>();
  return nullptr;
}

std::vector<std::string> projection_column_families() {
  std::vector<std::string> out;
  for (const auto& name : known_projections())
    out.push_back(make_projection(name)->column_family());
  return out;
}

} // namespace billow::projections
