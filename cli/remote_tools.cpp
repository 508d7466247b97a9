#include "cli/remote_tools.hpp"

#include <algorithm>
#include <csignal>
#include <iostream>
#include <string_view>

#include <boost/json.hpp>

#include "events/errc.hpp"

namespace billow::cli {

namespace {

constexpr std::string_view events_path = "/api/v1/admin/events";

/// Prints why a call failed; answers the exit status.
int fail(const caf::expected<remote_answer>& res) {
  if (!res)
    std::cerr << "billow: " << detail_of(res.error()) << "\n";
  else
    std::cerr << "billow: the server answered " << res->problem_text() << "\n";
  return 1;
}

/// The body of a 2xx JSON answer, or nullopt after printing why not.
std::optional<boost::json::object>
json_body(const caf::expected<remote_answer>& res) {
  if (!res || !res->ok()) {
    fail(res);
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(res->body, ec);
  if (ec || !doc.is_object()) {
    std::cerr << "billow: the server answered something that is not a JSON "
                 "object\n";
    return std::nullopt;
  }
  return std::move(doc.as_object());
}

/// Prints a page's items, one envelope per line; answers how many.
size_t print_items(const boost::json::object& page) {
  size_t n = 0;
  if (const auto* items = page.if_contains("items"); items && items->is_array())
    for (const auto& ev : items->as_array()) {
      std::cout << boost::json::serialize(ev) << "\n";
      ++n;
    }
  std::cout.flush();
  return n;
}

query_params filters(const events_request& req) {
  return {{"type", req.type},   {"stream_prefix", req.stream_prefix},
          {"actor", req.actor}, {"correlation_id", req.correlation_id},
          {"from", req.from},   {"to", req.to}};
}

/// `tail --follow`: the live stream after `after`, until interrupted.
int follow(const remote& server, uint64_t after) {
  auto res = server.stream_lines("/api/v1/admin/events/live",
                                 {{"after", std::to_string(after)}},
                                 [](std::string_view line) {
                                   if (line.starts_with("data: ")) {
                                     line.remove_prefix(6);
                                     std::cout << line << "\n";
                                     std::cout.flush();
                                   }
                                   return static_cast<bool>(std::cout);
                                 });
  if (!res || !res->ok())
    return fail(res);
  std::cerr << "billow: the server ended the stream\n";
  return 0;
}

} // namespace

int remote_login(const remote& server, const std::string& email,
                 const std::string& password) {
  boost::json::object body{{"email", email}, {"password", password}};
  auto res = server.post_json("/api/v1/auth/admin/token",
                              boost::json::serialize(body));
  if (res && (res->status == 401 || res->status == 400)) {
    fail(res);
    return 3;
  }
  auto out = json_body(res);
  if (!out)
    return 1;
  std::cout << boost::json::value_to<std::string>(out->at("token")) << "\n";
  std::cerr << "billow: token valid until "
            << boost::json::value_to<std::string>(out->at("expires_at"))
            << "\n";
  return 0;
}

int remote_events(const remote& server, const events_request& req) {
  if (req.command == "show") {
    if (req.position == 0) {
      std::cerr << "billow: positions start at 1\n";
      return 2;
    }
    auto page = json_body(server.get(
      events_path,
      {{"after", std::to_string(req.position - 1)}, {"limit", "1"}}));
    if (!page)
      return 1;
    const auto& items = page->at("items").as_array();
    if (items.empty()
        || items[0].at("position").to_number<uint64_t>() != req.position) {
      std::cerr << "billow: no event at position " << req.position << "\n";
      return 1;
    }
    std::cout << boost::json::serialize(items[0]) << "\n";
    return 0;
  }
  if (req.command == "tail") {
    // The log's end first (every page names it), then the last `count`.
    auto head = json_body(server.get(events_path, {{"limit", "1"}}));
    if (!head)
      return 1;
    auto last = head->at("last_position").to_number<uint64_t>();
    auto after = last > req.count ? last - req.count : 0;
    for (uint64_t cursor = after; cursor < last;) {
      auto limit = std::min<uint64_t>(1000, last - cursor);
      auto page = json_body(server.get(events_path,
                                       {{"after", std::to_string(cursor)},
                                        {"limit", std::to_string(limit)}}));
      if (!page)
        return 1;
      if (print_items(*page) == 0)
        break;
      const auto& items = page->at("items").as_array();
      cursor = items.back().at("position").to_number<uint64_t>();
    }
    return req.follow ? follow(server, last) : 0;
  }
  // query: page by page through next_cursor.
  auto params = filters(req);
  params.emplace_back("after", std::to_string(req.after));
  for (size_t printed = 0; printed < req.count;) {
    auto page_params = params;
    page_params.emplace_back(
      "limit", std::to_string(std::min<size_t>(1000, req.count - printed)));
    auto page = json_body(server.get(events_path, page_params));
    if (!page)
      return 1;
    printed += print_items(*page);
    const auto& next = page->at("next_cursor");
    if (next.is_null())
      break;
    params.erase(std::remove_if(params.begin(), params.end(),
                                [](const auto& kv) {
                                  return kv.first == "cursor";
                                }),
                 params.end());
    params.emplace_back("cursor", boost::json::value_to<std::string>(next));
  }
  return 0;
}

int remote_state(const remote& server, const std::string& stream,
                 const std::string& at) {
  auto state = json_body(
    server.get("/api/v1/admin/streams/" + stream + "/state", {{"at", at}}));
  if (!state)
    return 1;
  std::cout << boost::json::serialize(*state) << "\n";
  return 0;
}

int remote_verify(const remote& server) {
  auto report = json_body(server.get("/api/v1/admin/audit/verify"));
  if (!report)
    return 1;
  std::cout << boost::json::serialize(*report) << "\n";
  const auto* ok = report->if_contains("ok");
  return ok && ok->is_bool() && ok->as_bool() ? 0 : 3;
}

} // namespace billow::cli
