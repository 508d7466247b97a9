#include "tests/support/throwaway_postgres.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace billow::test {

namespace {

/// Asks the kernel for a free loopback port.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("could not find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string quote(const std::string& x) {
  std::string out = "'";
  for (auto c : x) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string tail_of(const std::filesystem::path& file) {
  std::ifstream in{file};
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

} // namespace

std::unique_ptr<throwaway_postgres> throwaway_postgres::start(options opts) {
  std::unique_ptr<throwaway_postgres> pg{new throwaway_postgres};
  pg->opts_ = std::move(opts);
  auto pattern = (std::filesystem::temp_directory_path() / "billow-pg-XXXXXX")
                   .string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  pg->root_ = pattern;
  auto* pw = ::getpwnam(pg->opts_.os_user.c_str());
  if (pw == nullptr)
    throw std::runtime_error("no system user " + pg->opts_.os_user);
  if (::chown(pattern.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    throw std::runtime_error("chown " + pattern + " failed");
  auto as_user = "runuser -u " + quote(pg->opts_.os_user) + " -- ";
  auto data = (pg->root_ / "data").string();
  auto log = (pg->root_ / "server.log").string();
  auto initdb = as_user + quote(pg->opts_.bin_dir + "/initdb") + " -D "
                + quote(data) + " -A trust -U postgres --no-sync"
                + " > " + quote((pg->root_ / "initdb.log").string())
                + " 2>&1";
  if (std::system(initdb.c_str()) != 0)
    throw std::runtime_error("initdb failed: "
                             + tail_of(pg->root_ / "initdb.log"));
  // pg_ctl may lose the race for the port; try a few.
  for (int attempt = 0; attempt < 5 && !pg->running_; ++attempt) {
    pg->port_ = free_port();
    auto server_opts = "-p " + std::to_string(pg->port_) + " -k "
                       + pg->root_.string()
                       + " -c listen_addresses=127.0.0.1 "
                       + pg->opts_.settings;
    auto start = as_user + quote(pg->opts_.bin_dir + "/pg_ctl") + " -D "
                 + quote(data) + " -l " + quote(log) + " -w -t 30 -o "
                 + quote(server_opts) + " start > /dev/null 2>&1";
    pg->running_ = std::system(start.c_str()) == 0;
  }
  if (!pg->running_)
    throw std::runtime_error("pg_ctl start failed: "
                             + tail_of(pg->root_ / "server.log"));
  return pg;
}

throwaway_postgres::~throwaway_postgres() {
  if (running_) {
    auto stop = "runuser -u " + quote(opts_.os_user) + " -- "
                + quote(opts_.bin_dir + "/pg_ctl") + " -D "
                + quote((root_ / "data").string())
                + " -m immediate -w stop > /dev/null 2>&1";
    [[maybe_unused]] auto rc = std::system(stop.c_str());
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

std::string throwaway_postgres::conninfo() const {
  return "host=" + root_.string() + " port=" + std::to_string(port_)
         + " user=postgres dbname=postgres";
}

} // namespace billow::test
