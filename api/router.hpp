#pragma once

// The route table: which handler answers which method and path.
//
// Patterns are paths whose segments may be `{name}` parameters:
// `/api/v1/admin/services/{id}/suspend`; a last segment `{name...}` takes
// the rest of the path, slashes included (`.../api/{uri...}`). A path that
// matches a pattern under another method answers 405 with `Allow`; one that
// matches none answers 404.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/fwd.hpp>

#include "api/http_types.hpp"

namespace billow::api {

class answer_filter;
class pending_answers;

/// Who is calling, once a bearer token has been checked.
struct principal {
  /// `admin` or `client`.
  std::string kind;
  std::string id;
  std::string email;
  /// The admin group (permissions) or empty for clients.
  std::string group;

  /// The actor recorded in events: `admin:<id>`.
  std::string actor() const {
    return kind + ":" + id;
  }
};

/// What a handler gets: the request, its path parameters, and the front actor
/// it runs in (to `request(...).then(...)` other actors without blocking).
struct request_context {
  caf::event_based_actor* self;
  exchange_ptr ex;
  std::map<std::string, std::string, std::less<>> params;
  /// The pattern that matched, the route's label in metrics.
  std::string route;
  /// The authenticated caller (set by the auth wrapper), if any.
  std::optional<principal> caller = std::nullopt;
  /// Sees the response just before it is sent (the idempotency layer keeps
  /// it); copies of the context share it.
  std::function<void(const http_response&)> before_reply = nullptr;
  /// The front's requests waiting for another actor, with their deadlines
  /// (set by `dispatch`, the only maker of contexts).
  pending_answers* pending = nullptr;
  /// Reveals personal values in the answer (answers.hpp; set by `dispatch`
  /// from the route table); null: they are sent as stored.
  const answer_filter* answers = nullptr;

  const http_request& request() const noexcept {
    return ex->request();
  }
  /// Answers the request (once), labelling the response with its route.
  /// Every answer goes through the one serializer of answers.hpp: secret
  /// fields dropped, then `before_reply`, then personal values revealed.
  void reply(http_response resp) const;
};

/// A route handler. It answers through `ctx.reply`, now or later.
using route_handler = std::function<void(const request_context& ctx)>;

/// What the OpenAPI document says about a route.
struct route_doc {
  std::string summary = {};
  /// The admin permission it needs; empty for public routes.
  std::string permission = {};
  /// Query parameters it reads.
  std::vector<std::string> query = {};
  /// Whether it takes a JSON object body.
  bool json_body = false;
  /// Its success status and response content type.
  unsigned success = 200;
  std::string content_type = "application/json";
  /// The component (schemas.hpp) its request body is, and its success
  /// answer is; empty: not described yet.
  std::string request_schema = {};
  std::string response_schema = {};
  /// Whether the JSON body may be left out (a command whose fields are all
  /// optional).
  bool body_optional = false;
};

/// An immutable-after-start set of routes.
class route_table {
public:
  /// Adds a route; `method` in upper case. Routes are tried in the order
  /// added.
  void add(std::string method, std::string pattern, route_handler handler,
           route_doc doc = {});

  /// The OpenAPI 3.0 document describing every route.
  std::string openapi(const std::string& title,
                      const std::string& version) const;

  /// Result of `match`.
  struct match_result {
    const route_handler* handler = nullptr;
    std::string pattern;
    std::map<std::string, std::string, std::less<>> params;
    /// Methods the path does answer to when `handler` is null (for 405).
    std::vector<std::string> allowed;
  };

  match_result match(std::string_view method, std::string_view path) const;

  /// The filter that reveals personal values in every answer (answers.hpp).
  void set_answer_filter(std::shared_ptr<const answer_filter> f) {
    answers_ = std::move(f);
  }
  const answer_filter* answers() const noexcept {
    return answers_.get();
  }

private:
  struct route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    route_handler handler;
    route_doc doc;
  };
  std::vector<route> routes_;
  std::shared_ptr<const answer_filter> answers_;
};

/// Splits `/a/b/c` into `{"a", "b", "c"}` (empty segments dropped).
std::vector<std::string_view> split_path(std::string_view path);

} // namespace billow::api
