#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "modules/sdk/log_sink.hpp"
#include "modules/sdk/task_queue.hpp"

namespace billow::test {

/// Keeps every module log record (the integrator's sink writes events).
class recording_log : public modules::sdk::log_sink {
public:
  void write(const modules::sdk::log_record& r) noexcept override {
    std::lock_guard guard{mtx_};
    records_.push_back(r);
  }

  std::vector<modules::sdk::log_record> records() const {
    std::lock_guard guard{mtx_};
    return records_;
  }

private:
  mutable std::mutex mtx_;
  std::vector<modules::sdk::log_record> records_;
};

/// Keeps every queued job (the actor runtime's queue runs them).
class recording_queue : public modules::sdk::task_queue {
public:
  caf::expected<std::string> add(modules::sdk::task_request r) override {
    requests.push_back(std::move(r));
    return "job-" + std::to_string(requests.size());
  }

  std::vector<modules::sdk::task_request> requests;
};

} // namespace billow::test
