#pragma once

#include <filesystem>
#include <string>

namespace billow::test {

/// A fresh directory under the system temp dir, removed with its contents on
/// destruction. Each test gets its own, so RocksDB stores never collide.
class temp_dir {
public:
  /// Creates `<tmp>/billow-<prefix>-XXXXXX`.
  explicit temp_dir(const std::string& prefix = "test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept {
    return path_;
  }

  /// `path() / name` as a string.
  std::string sub(const std::string& name) const {
    return (path_ / name).string();
  }

private:
  std::filesystem::path path_;
};

} // namespace billow::test
