#pragma once

#include <filesystem>
#include <string>

namespace billow::testing {

/// A fresh directory under the system's temp dir, removed on destruction.
class temp_dir {
public:
  explicit temp_dir(const std::string& prefix = "billow-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept {
    return path_;
  }

private:
  std::filesystem::path path_;
};

} // namespace billow::testing
