#pragma once

// A test-only module behind the module port: each job method follows a
// script of outcomes, one per attempt (the last one repeats), and every call
// is recorded.

#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/module_port.hpp"
#include "events/errc.hpp"

namespace billow::test {

/// What one attempt does.
enum class step { ok, error, raise, hang };

class test_module : public actors::module_port {
public:
  struct call_record {
    events::uuid job_id;
    uint32_t attempt;
    std::string method;
    /// The position of the attempt's `job.started`, as the port was told.
    uint64_t started_at;
  };

  /// Sets the script of `method` (default: always ok).
  void script(const std::string& method, std::vector<step> steps) {
    std::lock_guard<std::mutex> guard{mtx_};
    scripts_[method] = std::move(steps);
  }

  caf::expected<std::string> run_job(const actors::job_call& call) override {
    step s = step::ok;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      calls_.push_back(
        {call.job_id, call.attempt, call.method, call.started_at});
      auto& sc = scripts_[call.method];
      if (!sc.empty()) {
        auto n = per_job_[call.job_id]++;
        s = n < sc.size() ? sc[n] : sc.back();
      }
      cv_.notify_all();
      if (s == step::hang) {
        ++hanging_;
        cv_.notify_all();
        cv_.wait(guard, [this] {
          return released_;
        });
        --hanging_;
      }
    }
    switch (s) {
      case step::ok: return std::string{"{\"done\":\""} + call.method + "\"}";
      case step::error:
        return make_error(billow_errc::module_failure, "remote API said no");
      case step::raise: throw std::runtime_error("module threw");
      case step::hang: return std::string{"{\"late\":true}"};
    }
    return std::string{};
  }

  /// Lets every hanging call return.
  void release() {
    std::lock_guard<std::mutex> guard{mtx_};
    released_ = true;
    cv_.notify_all();
  }

  /// Blocks until `n` calls hang (bounded by real time, never a sleep).
  bool wait_hanging(size_t n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, std::chrono::seconds(10), [&] {
      return hanging_ >= n;
    });
  }

  std::vector<call_record> calls() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return calls_;
  }

  /// The attempt numbers the module saw for `job`, in call order.
  std::vector<uint32_t> attempts_of(const events::uuid& job) const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<uint32_t> out;
    for (auto& c : calls_)
      if (c.job_id == job)
        out.push_back(c.attempt);
    return out;
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<step>> scripts_;
  std::map<events::uuid, size_t> per_job_;
  std::vector<call_record> calls_;
  size_t hanging_ = 0;
  bool released_ = false;
};

} // namespace billow::test
