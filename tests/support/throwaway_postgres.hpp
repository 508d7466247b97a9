#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace billow::test {

/// A PostgreSQL 15 cluster of its own, for tests and benchmarks: initdb into
/// a fresh temporary directory, started on a free loopback port with its unix
/// socket inside that directory, stopped and deleted on destruction.
///
/// We run as root, and PostgreSQL refuses to: initdb and pg_ctl run as the
/// `postgres` system user (`runuser -u postgres --`), which owns the
/// directory. Needs Debian's `postgresql-15` binaries.
class throwaway_postgres {
public:
  struct options {
    /// Where the server binaries live.
    std::string bin_dir = "/usr/lib/postgresql/15/bin";
    /// The system user that owns and runs the cluster.
    std::string os_user = "postgres";
    /// Extra `-c name=value` server settings, space separated.
    std::string settings = "-c synchronous_commit=on -c fsync=on "
                           "-c max_connections=200";
  };

  /// Creates and starts the cluster; throws std::runtime_error (with the
  /// server log's tail) when that fails.
  static std::unique_ptr<throwaway_postgres> start(options opts);

  static std::unique_ptr<throwaway_postgres> start() {
    return start(options{});
  }

  ~throwaway_postgres();
  throwaway_postgres(const throwaway_postgres&) = delete;
  throwaway_postgres& operator=(const throwaway_postgres&) = delete;

  /// A libpq connection string for the `postgres` database as superuser.
  std::string conninfo() const;

  /// The TCP port on 127.0.0.1.
  int port() const noexcept {
    return port_;
  }

private:
  throwaway_postgres() = default;

  options opts_;
  std::filesystem::path root_;
  int port_ = 0;
  bool running_ = false;
};

} // namespace billow::test
