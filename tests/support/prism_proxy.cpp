#include "tests/support/prism_proxy.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/postgres_server.hpp"

namespace billow::test {

namespace {

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
    == 0;
  ::close(fd);
  return ok;
}

} // namespace

prism_proxy::prism_proxy(const std::filesystem::path& tools,
                         const std::filesystem::path& document,
                         int upstream_port) {
  port_ = free_loopback_port();
  log_ = document.parent_path() / "prism.log";
  auto prism = (tools / ".bin" / "prism").string();
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    auto port = std::to_string(port_);
    auto upstream = "http://127.0.0.1:" + std::to_string(upstream_port);
    auto doc = document.string();
    ::execl(prism.c_str(), "prism", "proxy", doc.c_str(), upstream.c_str(),
            "--errors", "--host", "127.0.0.1", "--port", port.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 600; ++i) {
    if (accepts(port_))
      return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("prism exited early (is @stoplight/prism-cli "
                               "in .tools/? run scripts/setup): "
                               + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  throw std::runtime_error("prism did not listen within 30 s: " + log());
}

prism_proxy::~prism_proxy() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string prism_proxy::log() const {
  std::ifstream in{log_};
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

bool prism_proxy::is_violation(const std::string& body) {
  return body.find("stoplight.io/prism/errors") != std::string::npos;
}

} // namespace billow::test
