#pragma once

// A `billow serve` child on a free loopback port, logged in as an admin: the
// server the CLI tests that talk HTTP to the real binary start (and kill).

#include <chrono>
#include <fstream>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "tests/cli/serve_process.hpp"
#include "tests/support/http_client.hpp"

namespace billow::test {

using http_headers = std::vector<std::pair<std::string, std::string>>;

/// `billow serve --listen 127.0.0.1:0 --data DATA` and an admin's token.
struct admin_server {
  serve_process proc;
  uint16_t port = 0;
  /// The bearer token and a JSON content type, for every admin request.
  http_headers auth;
  std::string email;
  std::string password;

  admin_server(const std::string& data, std::string admin_email,
               std::string admin_password)
    : proc{{"serve", "--listen", "127.0.0.1:0", "--data", data}, {}},
      email(std::move(admin_email)), password(std::move(admin_password)) {}

  /// Waits for the listening line, then logs in; false when either failed
  /// (the log says why).
  bool start() {
    auto m = proc.wait_for_log(
      std::regex{R"(listening on http://127\.0\.0\.1:(\d+))"});
    if (m.empty())
      return false;
    port = static_cast<uint16_t>(std::stoi(m[1]));
    auto token = login();
    auth = {{"Authorization", "Bearer " + token},
            {"Content-Type", "application/json"}};
    return !token.empty();
  }

  /// A fresh admin token; empty when the login was refused.
  std::string login() const {
    http_connection http{port};
    auto reply = http.request("POST", "/api/v1/auth/admin/token",
                              boost::json::serialize(boost::json::object{
                                {"email", email}, {"password", password}}),
                              {{"Content-Type", "application/json"}});
    if (reply.status != 200)
      return {};
    return std::string{
      boost::json::parse(reply.body).as_object().at("token").as_string()};
  }

  /// Whether the process runs (not ended, nor a zombie).
  bool alive() const {
    std::ifstream stat{"/proc/" + std::to_string(proc.pid()) + "/stat"};
    std::string pid, name, state;
    stat >> pid >> name >> state;
    return stat && state != "Z" && state != "X";
  }

  /// Every item of a cursor-paged list (`target` may carry a query), page
  /// by page; stops at the first answer that is not a 200, which it keeps
  /// in `failed` when given.
  boost::json::array all_items(const std::string& target, size_t limit = 1000,
                               http_reply* failed = nullptr) const {
    http_connection http{port};
    boost::json::array items;
    auto sep = target.find('?') == std::string::npos ? "?" : "&";
    std::string cursor;
    for (;;) {
      auto reply = http.request("GET",
                                target + sep + "limit=" + std::to_string(limit)
                                  + (cursor.empty() ? std::string{}
                                                    : "&cursor=" + cursor),
                                {}, auth);
      if (reply.status != 200) {
        if (failed != nullptr)
          *failed = std::move(reply);
        return items;
      }
      auto doc = boost::json::parse(reply.body).as_object();
      for (auto& item : doc.at("items").as_array())
        items.push_back(std::move(item));
      if (doc.at("next_cursor").is_null())
        return items;
      cursor = std::string{doc.at("next_cursor").as_string()};
    }
  }
};

} // namespace billow::test
