#pragma once

// Runs the `billow` binary to completion, for tests of its commands.

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <utility>

namespace billow::test {

/// Runs `billow ARGS` to completion; answers its exit status and output
/// (stdout and stderr together, or stdout alone). `stdin_text`, if any, is
/// its standard input (one line).
inline std::pair<int, std::string>
run_billow(const std::string& args, const std::string& stdin_text = {},
           bool with_stderr = true) {
  auto cmd = std::string{BILLOW_BINARY} + " " + args
    + (with_stderr ? " 2>&1" : " 2>/dev/null");
  if (!stdin_text.empty())
    cmd = "printf '%s\\n' '" + stdin_text + "' | " + cmd;
  std::string out;
  auto* pipe = ::popen(cmd.c_str(), "r");
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof(buf), pipe))
    out.append(buf, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

} // namespace billow::test
