#pragma once

#include <map>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "actors/aggregate.hpp"
#include "actors/clock.hpp"
#include "actors/scheduler.hpp"

namespace billow::actors {

/// The pure state: every schedule's interval and last recorded run.
struct scheduler_data {
  struct entry {
    uint64_t interval_s = 0;
    int64_t set_us = 0;
    int64_t last_due_us = 0;
    uint64_t runs = 0;

    int64_t next_due_us() const {
      auto base = last_due_us > 0 ? last_due_us : set_us;
      return base + static_cast<int64_t>(interval_s) * 1'000'000;
    }
  };
  std::map<std::string, entry> entries;

  static void apply(scheduler_data& st, std::string_view type,
                    const boost::json::object& p) {
    auto name = json_string(p, "name");
    if (type == "schedule.set") {
      auto& e = st.entries[name];
      e.interval_s = json_uint(p, "interval_s");
      if (e.set_us == 0)
        e.set_us = static_cast<int64_t>(json_uint(p, "at_us"));
    } else if (type == "schedule.ran") {
      auto& e = st.entries[name];
      e.last_due_us = static_cast<int64_t>(json_uint(p, "due_us"));
      ++e.runs;
    }
  }

  boost::json::object to_json() const {
    boost::json::object o;
    for (auto& [name, e] : entries)
      o[name] = boost::json::object{{"interval_s", e.interval_s},
                                    {"set_us", e.set_us},
                                    {"last_due_us", e.last_due_us},
                                    {"runs", e.runs}};
    return o;
  }

  static scheduler_data from_json(const boost::json::object& o) {
    scheduler_data st;
    for (auto& [name, v] : o)
      if (v.is_object()) {
        auto& x = v.get_object();
        auto& e = st.entries[std::string{name}];
        e.interval_s = json_uint(x, "interval_s");
        e.set_us = static_cast<int64_t>(json_uint(x, "set_us"));
        e.last_due_us = static_cast<int64_t>(json_uint(x, "last_due_us"));
        e.runs = json_uint(x, "runs");
      }
    return st;
  }
};

struct scheduler_state {
  static inline const char* name = "billow.scheduler";
  aggregate<scheduler_data> agg;
  const runtime_context* ctx = nullptr;
  std::map<std::string, caf::actor> targets;
  std::map<std::string, timer_id> timers;
  /// Schedules whose run is in progress (never two at once).
  std::map<std::string, int64_t> running;
};

} // namespace billow::actors
