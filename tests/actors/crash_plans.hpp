#pragma once

// The jobs of the actors crash test, shared by the test and its child.

#include <string>
#include <vector>

#include "actors/aggregate.hpp"
#include "actors/job.hpp"

namespace billow::test {

inline const std::vector<std::string>& crash_plans() {
  static const std::vector<std::string> plans
    = {"O",   "S",  "EO",  "EEO",  "EEE", "XO", "XXO", "XEO",
       "SEO", "HO", "EHO", "SSSO", "ES",  "XS", "EXE"};
  return plans;
}

inline events::uuid crash_job_id(int i) {
  return actors::derive_uuid("crash", "job", static_cast<uint64_t>(i));
}

/// The policy every crash job runs with: tries 3, backoff 1 s then 2 s,
/// timeout 2 s, max_exceptions 2.
inline actors::job_policy crash_policy() {
  return actors::job_policy{3, {1, 2}, 2, 2};
}

inline actors::job_spec crash_spec(int i) {
  actors::job_spec s;
  s.job_id = crash_job_id(i);
  s.module = "Product/crash";
  s.method = "create_job";
  auto& plan = crash_plans()[static_cast<size_t>(i) % crash_plans().size()];
  s.input = "{\"plan\":\"" + plan + "\",\"i\":" + std::to_string(i) + "}";
  s.tags = {"crash"};
  s.policy = crash_policy();
  return s;
}

/// How a job with `plan` must end under `crash_policy()`: completed or
/// failed, after how many attempts. `H` counts as a timeout (an exception).
struct expected_end {
  bool completed = false;
  uint32_t attempts = 0;
};

inline expected_end expected_for(const std::string& plan) {
  auto p = crash_policy();
  uint32_t exceptions = 0;
  for (uint32_t k = 1;; ++k) {
    auto c = plan[std::min<size_t>(k - 1, plan.size() - 1)];
    if (c == 'O' || c == 'S')
      return {true, k};
    if (c == 'X' || c == 'H')
      ++exceptions;
    if (k >= p.tries || exceptions >= p.max_exceptions)
      return {false, k};
  }
}

} // namespace billow::test
