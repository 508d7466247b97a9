#pragma once

#include <filesystem>
#include <string>

namespace billow::test {

/// A throwaway PostgreSQL cluster for one test binary: Debian's postgresql
/// (15) initialised in a temporary directory, listening on a free loopback
/// port with its unix socket in that directory, run as the `postgres` user
/// when the test runs as root. Password (SCRAM) authentication everywhere,
/// so logins of provisioned roles are really checked. Stopped and removed on
/// destruction.
class postgres_server {
public:
  struct options {
    /// Keep fsync and synchronous_commit on, as a production server runs
    /// (benchmarks compare against it); tests turn them off for speed.
    bool durable = false;
    int max_connections = 40;
  };

  /// initdb + pg_ctl start; throws std::runtime_error with the log on
  /// failure.
  explicit postgres_server(options opts);
  postgres_server() : postgres_server(options{}) {}
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  std::string host() const {
    return "127.0.0.1";
  }

  int port() const noexcept {
    return port_;
  }

  /// The superuser created by initdb.
  std::string admin_user() const {
    return "postgres";
  }

  std::string admin_password() const {
    return password_;
  }

  /// A libpq connection string for `user`/`password` on `dbname`.
  std::string conninfo(const std::string& user, const std::string& password,
                       const std::string& dbname) const;

  /// The superuser on the `postgres` database.
  std::string conninfo() const {
    return conninfo(admin_user(), admin_password(), "postgres");
  }

private:
  std::filesystem::path dir_;
  std::string password_;
  std::string as_user_;
  int port_ = 0;
  bool started_ = false;
};

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

} // namespace billow::test
