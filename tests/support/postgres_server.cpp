#include "tests/support/postgres_server.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace billow::test {

namespace {

const std::string pg_bin = "/usr/lib/postgresql/15/bin/";

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

} // namespace

int free_loopback_port() {
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
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

postgres_server::postgres_server(options opts) {
  std::string pattern
    = (std::filesystem::temp_directory_path() / "billow-pg-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir_ = buf.data();
  std::mt19937_64 rng{std::random_device{}()};
  password_ = "pw" + std::to_string(rng());
  {
    std::ofstream pw{dir_ / "pwfile"};
    pw << password_ << "\n";
  }
  // As root, PostgreSQL refuses to run: hand the directory to `postgres`.
  std::string as_user;
  if (::geteuid() == 0) {
    auto* pw = ::getpwnam("postgres");
    if (pw == nullptr)
      throw std::runtime_error("running as root but no 'postgres' user");
    for (const auto& p : {dir_, dir_ / "pwfile"})
      if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("chown " + p.string() + " failed");
    as_user = "runuser -u postgres -- ";
  }
  auto data = dir_ / "data";
  auto log = dir_ / "server.log";
  auto run = [&](const std::string& cmd, const std::string& what) {
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error(what + " failed: " + cmd + "\n"
                               + read_all(dir_ / "initdb.log") + read_all(log));
  };
  run(as_user + pg_bin + "initdb -D " + data.string()
        + " -U postgres --pwfile=" + (dir_ / "pwfile").string()
        + " -A scram-sha-256 -E UTF8 --no-sync --no-instructions > "
        + (dir_ / "initdb.log").string() + " 2>&1",
      "initdb");
  for (int attempt = 0; attempt < 5 && !started_; ++attempt) {
    port_ = free_loopback_port();
    auto cmd = as_user + pg_bin + "pg_ctl -D " + data.string() + " -l "
      + log.string() + " -w -t 30 -o \"-p " + std::to_string(port_) + " -k "
      + dir_.string() + " -c listen_addresses=127.0.0.1"
      + (opts.durable ? " -c fsync=on -c synchronous_commit=on"
                      : " -c fsync=off -c full_page_writes=off")
      + " -c max_connections=" + std::to_string(opts.max_connections)
      + "\" start > /dev/null 2>&1";
    started_ = std::system(cmd.c_str()) == 0;
  }
  if (!started_)
    throw std::runtime_error("pg_ctl start failed:\n" + read_all(log));
  as_user_ = as_user;
}

postgres_server::~postgres_server() {
  if (started_) {
    auto cmd = as_user_ + pg_bin + "pg_ctl -D " + (dir_ / "data").string()
      + " -m immediate -w stop > /dev/null 2>&1";
    [[maybe_unused]] auto rc = std::system(cmd.c_str());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string postgres_server::conninfo(const std::string& user,
                                      const std::string& password,
                                      const std::string& dbname) const {
  return "host=" + host() + " port=" + std::to_string(port_) + " user='" + user
    + "' password='" + password + "' dbname='" + dbname + "' connect_timeout=5";
}

} // namespace billow::test
