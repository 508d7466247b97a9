// No credential is ever served: a walk over every read route the OpenAPI
// document lists (as an owner, a read-only admin and a client), the live
// stream, /metrics, the CLI's events and state output, the server's log and
// the data directory's raw bytes, after making admins, clients with
// passwords and a module config with a secret. Then the same over a data
// directory written with the older schema, whose events held the hashes.

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/auth.hpp"
#include "api/data_dir.hpp"
#include "events/event_store.hpp"
#include "tests/cli/run_billow.hpp"
#include "tests/cli/serve_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace json = boost::json;
using billow::test::run_billow;
using billow::test::serve_process;

constexpr const char* owner_password = "owner-Secret-pw-8231";
constexpr const char* reader_password = "reader-Secret-pw-5512";
constexpr const char* client_password = "client-Secret-pw-4417";
constexpr const char* module_secret = "pg-Admin-secret-7781";

std::string raw_bytes(const std::filesystem::path& dir) {
  std::string all;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir))
    if (f.is_regular_file()) {
      std::ifstream in{f.path(), std::ios::binary};
      all.append(std::istreambuf_iterator<char>(in), {});
    }
  return all;
}

/// A running `billow serve` and what a walk over it saw.
class server_walk {
public:
  explicit server_walk(const std::string& data)
    : proc_{{"serve", "--listen", "127.0.0.1:0", "--data", data}, {}} {
    auto m = proc_.wait_for_log(
      std::regex{R"(listening on http://127\.0\.0\.1:(\d+))"});
    if (m.empty())
      throw std::runtime_error("serve did not start: " + proc_.log());
    port_ = static_cast<uint16_t>(std::stoi(m[1]));
    conn_ = std::make_unique<billow::test::http_connection>(port_);
  }

  billow::test::http_reply
  call(const std::string& method, const std::string& target,
       const std::string& token, const json::object& body = {}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty())
      headers.emplace_back("Authorization", token);
    auto r = conn_->request(
      method, target, method == "GET" ? std::string{} : json::serialize(body),
      headers);
    seen_ += r.body;
    for (const auto& [k, v] : r.headers)
      seen_ += k + ": " + v + "\n";
    return r;
  }

  std::string login(const std::string& kind, const std::string& email,
                    const std::string& password) {
    auto r = call("POST", "/api/v1/auth/" + kind + "/token", {},
                  {{"email", email}, {"password", password}});
    EXPECT_EQ(r.status, 200u) << r.body;
    if (r.status != 200)
      return "Bearer none";
    return "Bearer " + std::string{json::parse(r.body).at("token").as_string()};
  }

  /// GETs every path of the served document, parameters filled from
  /// `ids`, as each of `tokens`; the live stream is read for a moment.
  void walk(const std::map<std::string, std::string>& ids,
            const std::vector<std::string>& tokens) {
    auto doc = json::parse(call("GET", "/api/v1/openapi.json", {}).body);
    size_t walked = 0;
    for (const auto& [path, ops] : doc.at("paths").as_object()) {
      if (!ops.as_object().contains("get") || path.ends_with("/live"))
        continue;
      std::string target{path};
      for (const auto& [name, value] : ids)
        for (auto at = target.find("{" + name + "}"); at != std::string::npos;
             at = target.find("{" + name + "}"))
          target.replace(at, name.size() + 2, value);
      target = std::regex_replace(target, std::regex{R"(\{[a-z_]+\})"},
                                  "0b1f3c2e-6a5d-4e7f-8a9b-1c2d3e4f5a6b");
      for (const auto& token : tokens)
        call("GET", target, token);
      ++walked;
    }
    EXPECT_GE(walked, 20u); // every GET route Billow has today
    // The live stream from the log's start, read until it goes quiet.
    billow::test::raw_connection live{port_};
    live.send("GET /api/v1/admin/events/live?after=0 HTTP/1.1\r\nHost: "
              "127.0.0.1\r\nAuthorization: "
              + tokens.front() + "\r\n\r\n");
    bool closed = false;
    auto streamed = live.read_until_close(std::chrono::seconds(2), closed);
    EXPECT_NE(streamed.find("event: admin.created"), std::string::npos)
      << streamed;
    seen_ += streamed;
    seen_ += billow::test::http_get(port_, "/metrics").body;
  }

  /// Stops the server; answers its log.
  std::string stop() {
    conn_.reset();
    int status = proc_.stop(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status)) << proc_.log();
    return proc_.log();
  }

  const std::string& seen() const {
    return seen_;
  }

private:
  serve_process proc_;
  uint16_t port_ = 0;
  std::unique_ptr<billow::test::http_connection> conn_;
  std::string seen_;
};

/// Every password hash the credential store of `data` keeps, by the
/// events that introduced them.
std::vector<std::string> kept_hashes(const std::filesystem::path& data) {
  auto dir = billow::api::open_data_dir(data);
  EXPECT_TRUE(dir);
  std::vector<std::string> out;
  if (!dir)
    return out;
  auto all = (*dir)->store->read_all(1, 10'000);
  EXPECT_TRUE(all);
  for (const auto& ev : *all)
    if (ev.type.ends_with(".created"))
      if (auto hash = (*dir)->vault.credentials->get(ev.stream, "password",
                                                     ev.event_id))
        out.push_back(*hash);
  return out;
}

/// What the CLI prints of the stopped server's log and states.
std::string cli_output(const std::string& data,
                       const std::vector<std::string>& streams) {
  std::string out;
  for (auto args : {"events query --limit 10000", "events tail -n 1000"}) {
    auto [status, text] = run_billow(std::string{args} + " --data " + data);
    EXPECT_EQ(status, 0) << text;
    out += text;
  }
  for (const auto& stream : streams) {
    auto [status, text] = run_billow("state " + stream + " --data " + data);
    EXPECT_EQ(status, 0) << text;
    out += text;
  }
  return out;
}

void expect_nowhere(const std::string& where, const std::string& text,
                    const std::vector<std::string>& secrets) {
  for (const auto& s : secrets)
    EXPECT_EQ(text.find(s), std::string::npos)
      << "'" << s << "' appears in " << where;
}

TEST(sensitive_data_test, no_credential_appears_anywhere) {
  billow::test::temp_dir dir{"leaks"};
  auto data = (dir.path() / "data").string();
  for (auto [email, password, group] :
       {std::tuple{"owner@example.com", owner_password, "owner"},
        std::tuple{"reader@example.com", reader_password, "read_only"}}) {
    auto [status, out] = run_billow(std::string{"admin create --email "} + email
                                      + " --group " + group
                                      + " --password-stdin --data " + data,
                                    password);
    ASSERT_EQ(status, 0) << out;
  }
  std::string client_id, product_id, admin_log;
  std::string seen;
  {
    server_walk s{data};
    auto owner = s.login("admin", "owner@example.com", owner_password);
    auto reader = s.login("admin", "reader@example.com", reader_password);
    auto config = s.call(
      "PUT", "/api/v1/admin/modules/Product/postgres/config", owner,
      {{"servers",
        json::array{json::object{{"name", "main"},
                                 {"host", "127.0.0.1"},
                                 {"port", 1},
                                 {"admin_user", "postgres"},
                                 {"admin_password", module_secret}}}}});
    ASSERT_EQ(config.status, 200u) << config.body;
    auto client = s.call("POST", "/api/v1/admin/clients", owner,
                         {{"name", "Walk Client"},
                          {"email", "walk@example.com"},
                          {"currency", "EUR"},
                          {"password", client_password}});
    ASSERT_EQ(client.status, 201u) << client.body;
    client_id = json::parse(client.body).at("id").as_string();
    ASSERT_EQ(s.call("POST", "/api/v1/admin/clients", owner,
                     {{"name", "No Login"},
                      {"email", "nologin@example.com"},
                      {"currency", "EUR"}})
                .status,
              201u);
    auto product = s.call(
      "POST", "/api/v1/admin/products", owner,
      {{"name", "Plain"},
       {"prices",
        json::array{json::object{
          {"currency", "EUR"}, {"period", "monthly"}, {"amount", "5.00"}}}}});
    ASSERT_EQ(product.status, 201u) << product.body;
    product_id = json::parse(product.body).at("id").as_string();
    auto client_token = s.login("client", "walk@example.com", client_password);
    // Wrong passwords are refused without echoing them.
    EXPECT_EQ(s.call("POST", "/api/v1/auth/admin/token", {},
                     {{"email", "owner@example.com"},
                      {"password", std::string{client_password} + "-wrong"}})
                .status,
              401u);
    s.walk({{"id", client_id},
            {"stream", "client-" + client_id},
            {"type", "Product"},
            {"name", "postgres"},
            {"tab", "info"}},
           {owner, reader, client_token});
    s.walk({{"id", product_id}, {"stream", "admin-x"}}, {owner});
    seen = s.seen();
    admin_log = s.stop();
  }
  auto hashes = kept_hashes(data);
  ASSERT_EQ(hashes.size(), 3u); // two admins, one client with a login
  for (const auto& h : hashes)
    EXPECT_TRUE(h.starts_with("$argon2id$")) << h;
  std::vector<std::string> secrets{owner_password, reader_password,
                                   client_password, module_secret, "$argon2"};
  secrets.insert(secrets.end(), hashes.begin(), hashes.end());
  EXPECT_NE(seen.find("Walk Client"), std::string::npos); // the walk saw data
  expect_nowhere("an answer", seen, secrets);
  expect_nowhere("the server's log", admin_log, secrets);
  expect_nowhere("the CLI's output",
                 cli_output(data,
                            {"client-" + client_id, "product-" + product_id}),
                 secrets);
  expect_nowhere("the data directory's bytes", raw_bytes(dir.path()), secrets);
}

TEST(sensitive_data_test, an_old_data_directory_upgrades_and_leaks_nothing) {
  billow::test::temp_dir dir{"oldschema"};
  auto data = dir.path() / "data";
  // As the previous schema wrote them: the hash in the event.
  std::string admin_hash = billow::api::hash_password(owner_password);
  std::string client_hash = billow::api::hash_password(client_password);
  {
    std::filesystem::create_directories(data);
    billow::events::store_options opts;
    opts.dir = billow::api::log_dir(data).string();
    auto store = billow::events::event_store::open(std::move(opts));
    ASSERT_TRUE(store);
    auto append = [&](const std::string& stream, const std::string& type,
                      const json::object& payload) {
      billow::events::new_event ev;
      ev.event_id = billow::events::uuid::random();
      ev.type = type;
      ev.actor = "system";
      ev.payload = json::serialize(payload);
      std::vector<billow::events::new_event> batch{ev};
      ASSERT_TRUE(
        (*store)->append(stream, billow::events::expected_version::no_stream(),
                         std::move(batch)));
    };
    append("admin-5b0e8f6c-1d2a-4c3b-9e8f-7a6b5c4d3e2f", "admin.created",
           {{"email", "owner@example.com"},
            {"password_hash", admin_hash},
            {"group", "owner"}});
    append("client-6c1f9a7d-2e3b-4d4c-8f9a-8b7c6d5e4f3a", "client.created",
           {{"name", "Old Client"},
            {"email", "old@example.com"},
            {"currency", "EUR"},
            {"balance", "0.00"},
            {"password_hash", client_hash}});
  }
  std::string seen, log;
  {
    server_walk s{data.string()};
    // The old hashes still log in: the vault moved them.
    auto owner = s.login("admin", "owner@example.com", owner_password);
    auto client = s.login("client", "old@example.com", client_password);
    s.walk({{"id", "6c1f9a7d-2e3b-4d4c-8f9a-8b7c6d5e4f3a"},
            {"stream", "client-6c1f9a7d-2e3b-4d4c-8f9a-8b7c6d5e4f3a"}},
           {owner, client});
    auto verify = s.call("GET", "/api/v1/admin/audit/verify", owner);
    EXPECT_TRUE(json::parse(verify.body).at("ok").as_bool()) << verify.body;
    seen = s.seen();
    log = s.stop();
  }
  EXPECT_NE(seen.find("Old Client"), std::string::npos);
  std::vector<std::string> secrets{admin_hash, client_hash, owner_password,
                                   client_password, "$argon2"};
  expect_nowhere("an answer", seen, secrets);
  expect_nowhere("the server's log", log, secrets);
  expect_nowhere("the CLI's output",
                 cli_output(data.string(),
                            {"client-6c1f9a7d-2e3b-4d4c-8f9a-8b7c6d5e4f3a",
                             "admin-5b0e8f6c-1d2a-4c3b-9e8f-7a6b5c4d3e2f"}),
                 secrets);
  auto [verified, report] = run_billow("verify --data " + data.string());
  EXPECT_EQ(verified, 0) << report;
}

} // namespace
