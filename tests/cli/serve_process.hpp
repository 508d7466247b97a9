#pragma once

// A `billow serve` child process for tests: the real binary, its log read
// through a pipe, stopped by a signal.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace billow::test {

/// A `billow serve` child whose stderr (the log) is read through a pipe.
class serve_process {
public:
  /// `before_exec` runs in the child between fork and exec (to lower a
  /// resource limit, say): async-signal-safe calls only.
  serve_process(const std::vector<std::string>& args,
                const std::vector<std::string>& env,
                void (*before_exec)() = nullptr) {
    int fds[2];
    if (::pipe(fds) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDERR_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      for (const auto& kv : env)
        ::putenv(const_cast<char*>(kv.c_str()));
      if (before_exec)
        before_exec();
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(BILLOW_BINARY));
      for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(BILLOW_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    err_fd_ = fds[0];
  }

  ~serve_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(err_fd_);
  }

  /// Reads the log until `pattern` matches (or 10 s pass); returns the match.
  std::smatch wait_for_log(const std::regex& pattern) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::smatch m;
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::regex_search(log_, m, pattern))
        return m;
      if (read_log(100) < 0)
        break;
    }
    std::regex_search(log_, m, pattern);
    return m;
  }

  /// Appends what the child has written to its log so far, waiting at most
  /// `wait_ms` for the first bytes; answers how many were read (-1 once the
  /// child closed its end).
  long read_log(int wait_ms = 0) {
    long total = 0;
    for (;;) {
      pollfd pfd{err_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, total == 0 ? wait_ms : 0) <= 0)
        return total;
      char buf[4096];
      auto n = ::read(err_fd_, buf, sizeof(buf));
      if (n <= 0)
        return total == 0 ? -1 : total;
      log_.append(buf, static_cast<size_t>(n));
      total += n;
    }
  }

  pid_t pid() const {
    return pid_;
  }

  /// Sends `signo` (0: none) and waits up to 20 s for the exit status; a
  /// child still running then is killed and reported as killed by SIGKILL.
  int stop(int signo) {
    if (signo != 0)
      ::kill(pid_, signo);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      ::usleep(10'000);
    }
    pid_ = -1;
    return status;
  }

  const std::string& log() const {
    return log_;
  }

private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string log_;
};

} // namespace billow::test
