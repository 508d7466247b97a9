#include "modules/Product/postgres/pg_connection.hpp"

#include <libpq-fe.h>

#include "events/errc.hpp"

namespace billow::modules::postgres {

pg_connection::pg_connection(pg_conn* conn) : conn_(conn, PQfinish) {
  // nop
}

caf::expected<pg_connection> pg_connection::connect(const pg_target& t) {
  auto port = std::to_string(t.port);
  auto timeout = std::to_string(t.connect_timeout_s);
  const char* keys[] = {"host",
                        "port",
                        "user",
                        "password",
                        "dbname",
                        "connect_timeout",
                        "application_name",
                        nullptr};
  const char* values[] = {t.host.c_str(),           port.c_str(),
                          t.user.c_str(),           t.password.c_str(),
                          t.dbname.c_str(),         timeout.c_str(),
                          "billow-postgres-module", nullptr};
  auto* conn = PQconnectdbParams(keys, values, 0);
  if (conn == nullptr)
    return make_error(billow_errc::unavailable, "postgres: out of memory");
  pg_connection out{conn};
  if (PQstatus(conn) != CONNECTION_OK)
    return make_error(billow_errc::unavailable,
                      "postgres: cannot connect to " + t.host + ":" + port
                        + ": " + PQerrorMessage(conn));
  return out;
}

caf::expected<pg_rows>
pg_connection::exec(const std::string& sql,
                    const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params)
    values.push_back(p.c_str());
  std::unique_ptr<PGresult, decltype(&PQclear)> res{
    PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()),
                 nullptr, values.data(), nullptr, nullptr, 0),
    PQclear};
  auto status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    return make_error(billow_errc::module_failure,
                      std::string{"postgres: "} + PQerrorMessage(conn_.get()));
  pg_rows rows;
  auto n = PQntuples(res.get());
  auto m = PQnfields(res.get());
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto& row = rows.emplace_back();
    for (int j = 0; j < m; ++j) {
      if (PQgetisnull(res.get(), i, j))
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(
          std::string{PQgetvalue(res.get(), i, j),
                      static_cast<size_t>(PQgetlength(res.get(), i, j))});
    }
  }
  return rows;
}

caf::expected<std::string> pg_connection::quote_ident(const std::string& name) {
  auto* q = PQescapeIdentifier(conn_.get(), name.c_str(), name.size());
  if (q == nullptr)
    return make_error(billow_errc::invalid_argument,
                      std::string{"postgres: bad identifier: "}
                        + PQerrorMessage(conn_.get()));
  std::string out{q};
  PQfreemem(q);
  return out;
}

caf::expected<std::string>
pg_connection::quote_literal(const std::string& text) {
  auto* q = PQescapeLiteral(conn_.get(), text.c_str(), text.size());
  if (q == nullptr)
    return make_error(billow_errc::invalid_argument,
                      std::string{"postgres: bad literal: "}
                        + PQerrorMessage(conn_.get()));
  std::string out{q};
  PQfreemem(q);
  return out;
}

caf::expected<std::string>
pg_connection::hash_password(const std::string& password,
                             const std::string& role) {
  auto* h = PQencryptPasswordConn(conn_.get(), password.c_str(), role.c_str(),
                                  nullptr);
  if (h == nullptr)
    return make_error(billow_errc::module_failure,
                      std::string{"postgres: cannot hash password: "}
                        + PQerrorMessage(conn_.get()));
  std::string out{h};
  PQfreemem(h);
  return out;
}

} // namespace billow::modules::postgres
