#include "tests/support/smtp_server.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/postgres_server.hpp"

namespace billow::test {

smtp_server::smtp_server(const std::filesystem::path& script) {
  dir_ = std::filesystem::temp_directory_path()
    / ("billow-smtp-" + std::to_string(::getpid()) + "-"
       + std::to_string(
         std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir_ / "mail");
  port_ = free_loopback_port();
  auto ready = dir_ / "ready";
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    auto port = std::to_string(port_);
    auto mail = (dir_ / "mail").string();
    auto ready_s = ready.string();
    auto script_s = script.string();
    ::execl("/usr/bin/python3", "python3", script_s.c_str(), port.c_str(),
            mail.c_str(), ready_s.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    if (std::filesystem::exists(ready))
      return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("smtp_sink.py exited early (is "
                               "python3-aiosmtpd installed?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  throw std::runtime_error("smtp_sink.py did not start within 10 s");
}

smtp_server::~smtp_server() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> smtp_server::messages() const {
  std::vector<std::filesystem::path> files;
  for (const auto& f : std::filesystem::directory_iterator{dir_ / "mail"})
    if (f.path().extension() == ".json"
        && !f.path().filename().string().starts_with("."))
      files.push_back(f.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (const auto& f : files) {
    std::ifstream in{f};
    std::stringstream buf;
    buf << in.rdbuf();
    out.push_back(buf.str());
  }
  return out;
}

} // namespace billow::test
