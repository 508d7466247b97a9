#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

struct pg_conn;
struct pg_result;

namespace billow::modules::postgres {

/// Where and as whom to connect.
struct pg_target {
  std::string host;
  int port = 5432;
  std::string user;
  std::string password;
  std::string dbname = "postgres";
  int connect_timeout_s = 10;
};

/// Rows of text values; a NULL is `std::nullopt`.
using pg_rows = std::vector<std::vector<std::optional<std::string>>>;

/// One libpq connection (the module's admin session to a server).
class pg_connection {
public:
  /// Connects; failure is `billow_errc::unavailable` with libpq's message.
  static caf::expected<pg_connection> connect(const pg_target& target);

  /// Runs `sql` with text parameters `$1, $2, ...`; answers the rows. A
  /// failing statement is `billow_errc::module_failure` with the server's
  /// message.
  caf::expected<pg_rows> exec(const std::string& sql,
                              const std::vector<std::string>& params = {});

  /// `"name"`, quoted for use as an identifier.
  caf::expected<std::string> quote_ident(const std::string& name);

  /// `'text'`, quoted for use as a literal.
  caf::expected<std::string> quote_literal(const std::string& text);

  /// The password hashed the way the server stores it (SCRAM), so the clear
  /// password never travels in a statement.
  caf::expected<std::string> hash_password(const std::string& password,
                                           const std::string& role);

private:
  explicit pg_connection(pg_conn* conn);

  std::shared_ptr<pg_conn> conn_;
};

} // namespace billow::modules::postgres
