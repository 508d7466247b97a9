#include "api/http_types.hpp"

#include <strings.h>

#include "api/problem.hpp"

namespace billow::api {

std::optional<std::string_view>
http_request::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key.size() == name.size()
        && strncasecmp(key.data(), name.data(), name.size()) == 0)
      return std::string_view{value};
  return std::nullopt;
}

std::optional<std::string_view>
http_request::query_param(std::string_view name) const {
  for (const auto& [key, value] : query)
    if (key == name)
      return std::string_view{value};
  return std::nullopt;
}

http_response json_response(unsigned status, std::string body) {
  http_response resp;
  resp.status = status;
  resp.body = std::move(body);
  return resp;
}

body_stream::~body_stream() = default;

exchange::exchange(http_request request, reply_fn reply)
  : request_(std::move(request)), reply_(std::move(reply)) {
  // nop
}

exchange::~exchange() {
  if (reply_)
    reply_(problem_response(503,
                            "The request was dropped before it was answered "
                            "(the server may be shutting down)."));
}

void exchange::reply(http_response response) {
  if (auto fn = std::exchange(reply_, nullptr))
    fn(std::move(response));
}

} // namespace billow::api
