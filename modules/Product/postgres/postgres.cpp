// modules/Product/postgres: PostgreSQL hosting. Each service gets a login role
// and a database it owns on one of the configured servers.
//
// Module config:  {"servers": [{"name", "host", "port", "admin_user",
//                               "admin_password" (sealed)}]}
// product_data:   {"server", "connection_limit", "db_prefix"}
// service_data:   {"server", "host", "port", "database", "user",
//                  "password" (sealed), "connection_limit"}
//
// Role and database are named `{db_prefix}{service uuid without dashes}`, so
// every job finds its objects again after a crash and converges when re-run.
#include <algorithm>
#include <cctype>
#include <string>

#include <sodium.h>

#include "events/errc.hpp"
#include "modules/Product/postgres/pg_connection.hpp"
#include "modules/sdk/entry.hpp"
#include "modules/sdk/product.hpp"

namespace billow::modules::postgres {

namespace {

namespace json = boost::json;
using sdk::service_context;

constexpr int64_t default_connection_limit = 5;
constexpr const char* default_db_prefix = "db_";

caf::error invalid(std::string why) {
  return make_error(billow_errc::invalid_argument, std::move(why));
}

std::string string_or(const json::object& obj, std::string_view key,
                      std::string fallback) {
  if (auto it = obj.find(key); it != obj.end() && it->value().is_string())
    return std::string{it->value().get_string()};
  return fallback;
}

std::optional<int64_t> int_of(const json::value& v) {
  if (v.is_int64())
    return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= INT64_MAX)
    return static_cast<int64_t>(v.get_uint64());
  if (v.is_string()) {
    try {
      size_t used = 0;
      auto s = std::string{v.get_string()};
      auto n = std::stoll(s, &used);
      if (used == s.size())
        return n;
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

/// A random password of 24 letters and digits.
std::string generate_password() {
  static constexpr std::string_view alphabet
    = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium failed to initialise");
  std::string out(24, '\0');
  for (auto& c : out)
    c = alphabet[randombytes_uniform(static_cast<uint32_t>(alphabet.size()))];
  return out;
}

struct server_config {
  std::string name;
  std::string host;
  int port = 5432;
  std::string admin_user;
  std::string admin_password;
};

} // namespace

/// The module object.
class postgres_module : public sdk::product {
public:
  postgres_module() {
    register_client_tab("overview", [this](const sdk::client_call& call) {
      return variables_overview(call);
    });
    register_client_tab("usage", [this](const sdk::client_call& call) {
      return variables_usage(call);
    });
    register_client_controller(
      "usage", "refresh",
      [this](const sdk::client_call& call) -> caf::expected<json::value> {
        auto vars = variables_usage(call);
        if (!vars)
          return std::move(vars.error());
        return json::value(std::move(*vars));
      });
    register_admin_controller("servers", [this](const sdk::admin_call&) {
      return controller_admin_servers();
    });
  }

  // -- configuration ---------------------------------------------------------

  json::object get_product_data(const json::object& data) const override {
    json::object out;
    out["server"] = string_or(data, "server", "");
    out["connection_limit"] = default_connection_limit;
    if (auto it = data.find("connection_limit"); it != data.end())
      out["connection_limit"] = it->value();
    out["db_prefix"] = string_or(data, "db_prefix", default_db_prefix);
    return out;
  }

  caf::expected<json::object>
  save_product_data(const json::object& data) const override {
    auto pd = get_product_data(data);
    if (pd["server"].get_string().empty())
      return invalid("product_data.server is required");
    auto limit = int_of(pd["connection_limit"]);
    if (!limit || *limit < -1 || *limit > 100000)
      return invalid("product_data.connection_limit must be an integer "
                     "from -1 (unlimited) to 100000");
    pd["connection_limit"] = *limit;
    const auto& prefix = pd["db_prefix"].get_string();
    bool ok = !prefix.empty() && prefix.size() <= 20
      && (std::islower(static_cast<unsigned char>(prefix[0]))
          || prefix[0] == '_')
      && std::all_of(prefix.begin(), prefix.end(), [](char c) {
           return std::islower(static_cast<unsigned char>(c))
             || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
         });
    if (!ok)
      return invalid("product_data.db_prefix must be 1-20 of a-z, 0-9, _ "
                     "and start with a letter or _");
    return pd;
  }

  caf::expected<void> activate() override {
    auto servers = config("servers");
    if (!servers.is_array())
      return invalid("config.servers must be an array");
    for (const auto& s : servers.get_array()) {
      if (!s.is_object())
        return invalid("config.servers holds a non-object");
      auto cfg = parse_server(s.get_object());
      if (!cfg)
        return std::move(cfg.error());
    }
    log_info("activate", "servers checked",
             json::object{{"servers", servers.get_array().size()}});
    return caf::unit;
  }

  // -- lifecycle jobs --------------------------------------------------------

  caf::expected<void> create_job(service_context& svc) override {
    auto target = prepare(svc);
    if (!target)
      return fail("create_job", svc, std::move(target.error()));
    auto& [pd, server, conn, name] = *target;
    auto limit = pd["connection_limit"].as_int64();
    // Reuse the sealed password of an earlier attempt, else make one.
    std::string password;
    if (auto sealed = string_or(svc.service_data, "password", "");
        !sealed.empty()) {
      if (auto clear = context()->unseal(sealed))
        password = std::move(*clear);
    }
    if (password.empty())
      password = generate_password();
    auto sealed = context()->seal(password);
    if (!sealed)
      return fail("create_job", svc, std::move(sealed.error()));
    auto role = conn.quote_ident(name);
    auto hashed = conn.hash_password(password, name);
    if (!role || !hashed)
      return fail("create_job", svc,
                  !role ? std::move(role.error()) : std::move(hashed.error()));
    auto secret = conn.quote_literal(*hashed);
    if (!secret)
      return fail("create_job", svc, std::move(secret.error()));
    auto exists = conn.exec("SELECT 1 FROM pg_roles WHERE rolname = $1",
                            {name});
    if (!exists)
      return fail("create_job", svc, std::move(exists.error()));
    auto verb = exists->empty() ? "CREATE ROLE " : "ALTER ROLE ";
    auto res = conn.exec(verb + *role + " LOGIN PASSWORD " + *secret
                         + " CONNECTION LIMIT " + std::to_string(limit));
    if (!res)
      return fail("create_job", svc, std::move(res.error()));
    auto db = conn.exec("SELECT pg_get_userbyid(datdba) FROM pg_database "
                        "WHERE datname = $1",
                        {name});
    if (!db)
      return fail("create_job", svc, std::move(db.error()));
    if (db->empty())
      res = conn.exec("CREATE DATABASE " + *role + " OWNER " + *role);
    else if (db->front().front() != name)
      res = conn.exec("ALTER DATABASE " + *role + " OWNER TO " + *role);
    if (!res)
      return fail("create_job", svc, std::move(res.error()));
    res = conn.exec("REVOKE ALL ON DATABASE " + *role + " FROM PUBLIC");
    if (!res)
      return fail("create_job", svc, std::move(res.error()));
    auto& sd = svc.service_data;
    sd["server"] = server.name;
    sd["host"] = server.host;
    sd["port"] = server.port;
    sd["database"] = name;
    sd["user"] = name;
    sd["password"] = *sealed;
    sd["connection_limit"] = limit;
    log_info("create_job", "role and database ready",
             json::object{{"service_uuid", svc.service_uuid},
                          {"database", name},
                          {"server", server.name}});
    return caf::unit;
  }

  caf::expected<void> suspend_job(service_context& svc) override {
    auto target = prepare(svc);
    if (!target)
      return fail("suspend_job", svc, std::move(target.error()));
    auto& conn = target->conn;
    const auto& name = target->name;
    if (auto ok = require_role(conn, name); !ok)
      return fail("suspend_job", svc, ok.error());
    if (auto ok = alter_role(conn, name, "NOLOGIN"); !ok)
      return fail("suspend_job", svc, ok.error());
    if (auto ok = end_sessions(conn, name); !ok)
      return fail("suspend_job", svc, ok.error());
    log_info("suspend_job", "login disabled, sessions ended",
             json::object{{"service_uuid", svc.service_uuid}});
    return caf::unit;
  }

  caf::expected<void> unsuspend_job(service_context& svc) override {
    auto target = prepare(svc);
    if (!target)
      return fail("unsuspend_job", svc, std::move(target.error()));
    if (auto ok = require_role(target->conn, target->name); !ok)
      return fail("unsuspend_job", svc, ok.error());
    if (auto ok = alter_role(target->conn, target->name, "LOGIN"); !ok)
      return fail("unsuspend_job", svc, ok.error());
    log_info("unsuspend_job", "login restored",
             json::object{{"service_uuid", svc.service_uuid}});
    return caf::unit;
  }

  caf::expected<void> termination_job(service_context& svc) override {
    auto target = prepare(svc);
    if (!target)
      return fail("termination_job", svc, std::move(target.error()));
    auto& conn = target->conn;
    const auto& name = target->name;
    auto ident = conn.quote_ident(name);
    if (!ident)
      return fail("termination_job", svc, std::move(ident.error()));
    auto exists = conn.exec("SELECT 1 FROM pg_roles WHERE rolname = $1",
                            {name});
    if (!exists)
      return fail("termination_job", svc, std::move(exists.error()));
    if (!exists->empty()) {
      if (auto ok = alter_role(conn, name, "NOLOGIN"); !ok)
        return fail("termination_job", svc, ok.error());
    }
    if (auto ok = end_sessions(conn, name); !ok)
      return fail("termination_job", svc, ok.error());
    auto res = conn.exec("DROP DATABASE IF EXISTS " + *ident + " WITH (FORCE)");
    if (res)
      res = conn.exec("DROP ROLE IF EXISTS " + *ident);
    if (!res)
      return fail("termination_job", svc, std::move(res.error()));
    svc.service_data.erase("password");
    log_info("termination_job", "database and role dropped",
             json::object{{"service_uuid", svc.service_uuid}});
    return caf::unit;
  }

  caf::expected<void> change_package_job(service_context& svc) override {
    auto target = prepare(svc);
    if (!target)
      return fail("change_package_job", svc, std::move(target.error()));
    auto limit = target->pd["connection_limit"].as_int64();
    if (auto ok = require_role(target->conn, target->name); !ok)
      return fail("change_package_job", svc, ok.error());
    if (auto ok = alter_role(target->conn, target->name,
                             "CONNECTION LIMIT " + std::to_string(limit));
        !ok)
      return fail("change_package_job", svc, ok.error());
    svc.service_data["connection_limit"] = limit;
    log_info("change_package_job", "connection limit applied",
             json::object{{"service_uuid", svc.service_uuid},
                          {"connection_limit", limit}});
    return caf::unit;
  }

  // -- client area -----------------------------------------------------------

  std::vector<sdk::client_area_tab>
  get_client_area_menu_config() const override {
    return {{"overview", "Overview", "client_area.overview"},
            {"usage", "Usage", "client_area.usage"}};
  }

  // -- admin area ------------------------------------------------------------

  std::vector<sdk::admin_permission> admin_permissions() const override {
    return {{"postgres-servers", "PostgreSQL servers",
             "See the PostgreSQL servers services are placed on"}};
  }

  std::vector<sdk::sidebar_entry> admin_sidebar() const override {
    return {{"PostgreSQL servers", "servers", {"servers"}, "postgres-servers"}};
  }

  std::vector<sdk::admin_route> admin_api_routes() const override {
    return {{"get", "servers", "postgres-servers", "servers", "servers"}};
  }

private:
  struct job_target {
    json::object pd;
    server_config server;
    pg_connection conn;
    std::string name;
  };

  caf::expected<void> fail(std::string_view action, const service_context& svc,
                           caf::error err) const {
    log_error(action, detail_of(err),
              json::object{{"service_uuid", svc.service_uuid},
                           {"error", to_string(errc_of(err))}});
    return err;
  }

  static caf::expected<server_config> parse_server(const json::object& s) {
    server_config out;
    out.name = string_or(s, "name", "");
    out.host = string_or(s, "host", "");
    out.admin_user = string_or(s, "admin_user", "");
    out.admin_password = string_or(s, "admin_password", "");
    if (out.name.empty() || out.host.empty() || out.admin_user.empty())
      return invalid("config.servers[]: name, host and admin_user are "
                     "required");
    if (auto it = s.find("port"); it != s.end()) {
      auto port = int_of(it->value());
      if (!port || *port < 1 || *port > 65535)
        return invalid("config.servers[" + out.name + "].port is not a port");
      out.port = static_cast<int>(*port);
    }
    if (!out.admin_password.empty()
        && !sdk::secret_box::is_sealed(out.admin_password))
      return invalid("config.servers[" + out.name
                     + "].admin_password must be sealed");
    return out;
  }

  caf::expected<server_config> find_server(const std::string& name) const {
    auto servers = config("servers");
    if (servers.is_array())
      for (const auto& s : servers.get_array())
        if (s.is_object() && string_or(s.get_object(), "name", "") == name) {
          auto cfg = parse_server(s.get_object());
          if (!cfg)
            return cfg;
          if (!cfg->admin_password.empty()) {
            auto clear = context()->unseal(cfg->admin_password);
            if (!clear)
              return std::move(clear.error());
            cfg->admin_password = std::move(*clear);
          }
          return cfg;
        }
    return make_error(billow_errc::not_found,
                      "no server '" + name + "' in config.servers");
  }

  static caf::expected<std::string> object_name(const json::object& pd,
                                                const std::string& uuid) {
    std::string name{pd.at("db_prefix").get_string()};
    for (char c : uuid)
      if (std::isalnum(static_cast<unsigned char>(c)))
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name.size() == pd.at("db_prefix").get_string().size())
      return invalid("service_uuid has no letters or digits");
    if (name.size() > 63)
      name.resize(63);
    return name;
  }

  /// Checks product data, finds the server and connects as its admin.
  caf::expected<job_target> prepare(const service_context& svc) const {
    auto pd = save_product_data(svc.product_data);
    if (!pd)
      return std::move(pd.error());
    auto server = find_server(std::string{(*pd)["server"].get_string()});
    if (!server)
      return std::move(server.error());
    auto name = object_name(*pd, svc.service_uuid);
    if (!name)
      return std::move(name.error());
    auto conn = pg_connection::connect(
      pg_target{server->host, server->port, server->admin_user,
                server->admin_password, "postgres", 10});
    if (!conn)
      return std::move(conn.error());
    return job_target{std::move(*pd), std::move(*server), std::move(*conn),
                      std::move(*name)};
  }

  static caf::expected<void> require_role(pg_connection& conn,
                                          const std::string& name) {
    auto exists = conn.exec("SELECT 1 FROM pg_roles WHERE rolname = $1",
                            {name});
    if (!exists)
      return std::move(exists.error());
    if (exists->empty())
      return make_error(billow_errc::not_found,
                        "role " + name
                          + " does not exist (not created yet, "
                            "or terminated)");
    return caf::unit;
  }

  static caf::expected<void> alter_role(pg_connection& conn,
                                        const std::string& name,
                                        const std::string& what) {
    auto ident = conn.quote_ident(name);
    if (!ident)
      return std::move(ident.error());
    auto res = conn.exec("ALTER ROLE " + *ident + " " + what);
    if (!res)
      return std::move(res.error());
    return caf::unit;
  }

  static caf::expected<void> end_sessions(pg_connection& conn,
                                          const std::string& name) {
    auto res = conn.exec("SELECT pg_terminate_backend(pid) FROM "
                         "pg_stat_activity WHERE usename = $1 AND pid <> "
                         "pg_backend_pid()",
                         {name});
    if (!res)
      return std::move(res.error());
    return caf::unit;
  }

  caf::expected<json::object>
  variables_overview(const sdk::client_call& call) const {
    const auto& sd = call.service.service_data;
    if (string_or(sd, "database", "").empty())
      return make_error(billow_errc::not_found,
                        "the service has no database yet");
    json::object out;
    out["host"] = string_or(sd, "host", "");
    out["port"] = sd.contains("port") ? sd.at("port") : json::value(5432);
    out["database"] = string_or(sd, "database", "");
    out["user"] = string_or(sd, "user", "");
    if (call.owner) {
      auto clear = context()->unseal(string_or(sd, "password", ""));
      if (!clear)
        return std::move(clear.error());
      out["password"] = *clear;
    }
    return out;
  }

  caf::expected<json::object>
  variables_usage(const sdk::client_call& call) const {
    auto pd = save_product_data(call.service.product_data);
    if (!pd)
      return std::move(pd.error());
    auto server
      = find_server(string_or(call.service.service_data, "server",
                              std::string{(*pd)["server"].get_string()}));
    if (!server)
      return std::move(server.error());
    auto name = string_or(call.service.service_data, "database", "");
    if (name.empty())
      return make_error(billow_errc::not_found,
                        "the service has no database yet");
    auto conn = pg_connection::connect(
      pg_target{server->host, server->port, server->admin_user,
                server->admin_password, "postgres", 10});
    if (!conn)
      return std::move(conn.error());
    auto rows = conn->exec("SELECT pg_database_size(datname), "
                           "pg_size_pretty(pg_database_size(datname)) FROM "
                           "pg_database WHERE datname = $1",
                           {name});
    if (!rows)
      return std::move(rows.error());
    if (rows->empty())
      return make_error(billow_errc::not_found,
                        "database " + name + " does not exist");
    json::object out;
    out["database"] = name;
    out["size_bytes"] = std::stoll(*rows->front()[0]);
    out["size_pretty"] = *rows->front()[1];
    return out;
  }

  caf::expected<json::value> controller_admin_servers() const {
    json::array out;
    auto servers = config("servers");
    if (servers.is_array())
      for (const auto& s : servers.get_array())
        if (s.is_object()) {
          const auto& obj = s.get_object();
          out.push_back(json::object{
            {"name", string_or(obj, "name", "")},
            {"host", string_or(obj, "host", "")},
            {"port",
             obj.contains("port") ? obj.at("port") : json::value(5432)}});
        }
    return json::value(std::move(out));
  }
};

} // namespace billow::modules::postgres

BILLOW_MODULE(billow::modules::postgres::postgres_module)
