#include "api/router.hpp"

#include <algorithm>

namespace billow::api {

void request_context::reply(http_response resp) const {
  resp.route = route;
  ex->reply(std::move(resp));
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string_view::npos)
      next = path.size();
    if (next > pos)
      out.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

void route_table::add(std::string method, std::string pattern,
                      route_handler handler) {
  std::vector<std::string> segments;
  for (auto seg : split_path(pattern))
    segments.emplace_back(seg);
  routes_.push_back(route{std::move(method), std::move(pattern),
                          std::move(segments), std::move(handler)});
}

namespace {

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

} // namespace

route_table::match_result route_table::match(std::string_view method,
                                             std::string_view path) const {
  match_result result;
  auto segments = split_path(path);
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size())
      continue;
    std::map<std::string, std::string, std::less<>> params;
    bool matches = true;
    for (size_t i = 0; i < segments.size() && matches; ++i) {
      const auto& want = r.segments[i];
      if (is_param(want))
        params.emplace(want.substr(1, want.size() - 2),
                       std::string{segments[i]});
      else
        matches = want == segments[i];
    }
    if (!matches)
      continue;
    // HEAD is served by GET routes (the server drops the body).
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      result.handler = &r.handler;
      result.pattern = r.pattern;
      result.params = std::move(params);
      return result;
    }
    if (std::find(result.allowed.begin(), result.allowed.end(), r.method)
        == result.allowed.end())
      result.allowed.push_back(r.method);
  }
  return result;
}

} // namespace billow::api
