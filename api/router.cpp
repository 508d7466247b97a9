#include "api/router.hpp"

#include "api/answers.hpp"
#include "api/schemas.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <boost/json.hpp>
#include <spdlog/fmt/fmt.h>

namespace billow::api {

void request_context::reply(http_response resp) const {
  resp.route = route;
  drop_secret_fields(resp);
  if (before_reply)
    before_reply(resp);
  if (answers != nullptr)
    answers->reveal(resp);
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
                      route_handler handler, route_doc doc) {
  std::vector<std::string> segments;
  for (auto seg : split_path(pattern))
    segments.emplace_back(seg);
  routes_.push_back(route{std::move(method), std::move(pattern),
                          std::move(segments), std::move(handler),
                          std::move(doc)});
}

namespace {

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

/// A last segment `{name...}` takes the rest of the path, slashes included.
bool is_tail(std::string_view segment) {
  return is_param(segment) && segment.size() > 5
    && segment.substr(segment.size() - 4) == "...}";
}

/// A pattern as OpenAPI writes it: `{name...}` becomes `{name}`.
std::string openapi_path(std::string pattern) {
  auto tail = pattern.find("...}");
  if (tail != std::string::npos)
    pattern.erase(tail, 3);
  return pattern;
}

} // namespace

route_table::match_result route_table::match(std::string_view method,
                                             std::string_view path) const {
  match_result result;
  auto segments = split_path(path);
  for (const auto& r : routes_) {
    bool tail = !r.segments.empty() && is_tail(r.segments.back());
    if (tail ? segments.size() < r.segments.size()
             : r.segments.size() != segments.size())
      continue;
    std::map<std::string, std::string, std::less<>> params;
    bool matches = true;
    for (size_t i = 0; i < r.segments.size() && matches; ++i) {
      const auto& want = r.segments[i];
      if (tail && i + 1 == r.segments.size()) {
        std::string rest{segments[i]};
        for (size_t j = i + 1; j < segments.size(); ++j)
          rest += fmt::format("/{}", segments[j]);
        params.emplace(want.substr(1, want.size() - 5), std::move(rest));
      } else if (is_param(want))
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

namespace {

/// The OpenAPI tag of a route: its family, from the path
/// (`/api/v1/admin/invoices/...` -> `invoices`, `/api/v1/client/...` ->
/// `client area`, `/api/v1/auth/...` -> `auth`, the rest -> `operations`).
std::string tag_of(std::string_view pattern) {
  auto segment = [&](size_t n) {
    size_t at = 0;
    for (size_t i = 0; i <= n; ++i) {
      at = pattern.find('/', at);
      if (at == std::string_view::npos)
        return std::string_view{};
      ++at;
    }
    auto end = pattern.find('/', at);
    return pattern.substr(
      at, end == std::string_view::npos ? std::string_view::npos : end - at);
  };
  if (segment(0) != "api" || segment(1) != "v1")
    return "operations";
  auto area = segment(2);
  if (area == "admin") {
    auto family = segment(3);
    return family.empty() ? "admin" : std::string{family};
  }
  if (area == "client")
    return "client area";
  if (area == "auth")
    return "auth";
  return "operations";
}

} // namespace

std::string route_table::openapi(const std::string& title,
                                 const std::string& version) const {
  namespace json = boost::json;
  auto problem_ref = json::object{{"$ref", "#/components/schemas/problem"}};
  auto problem_answer = [&](const char* what) {
    return json::object{
      {"description", what},
      {"content",
       json::object{
         {"application/problem+json", json::object{{"schema", problem_ref}}}}}};
  };
  json::object paths;
  std::set<std::string> tags;
  for (const auto& r : routes_) {
    json::array params;
    for (const auto& seg : r.segments)
      if (is_param(seg))
        params.push_back(json::object{
          {"name", seg.substr(1, seg.size() - (is_tail(seg) ? 5 : 2))},
          {"in", "path"},
          {"required", true},
          {"schema", json::object{{"type", "string"}}}});
    for (const auto& q : r.doc.query)
      params.push_back(
        json::object{{"name", q},
                     {"in", "query"},
                     {"required", false},
                     {"schema", json::object{{"type", "string"}}}});
    // Authenticated POSTs keep their first answer per key (idempotency.hpp).
    bool idempotent_post = r.method == "POST" && !r.doc.permission.empty();
    if (idempotent_post)
      params.push_back(json::object{
        {"name", "Idempotency-Key"},
        {"in", "header"},
        {"required", false},
        {"description",
         "A retry with the same key and request gets the first answer "
         "(Idempotent-Replayed: true) and writes nothing"},
        {"schema", json::object{{"type", "string"}, {"maxLength", 255}}}});
    json::object responses;
    if (idempotent_post)
      responses["409"] = problem_answer(
        "A request with this Idempotency-Key is still running");
    json::object media;
    if (!r.doc.response_schema.empty())
      media["schema"] = schema_ref(r.doc.response_schema);
    // A create done before (the same payment again, a retried key) answers
    // what is there with 200.
    if (r.doc.success == 201)
      responses["200"] = json::object{
        {"description", "Done before: what it left, nothing written again"},
        {"content", json::object{{r.doc.content_type, media}}}};
    responses[std::to_string(r.doc.success)] = json::object{
      {"description", r.doc.summary.empty() ? "Success" : r.doc.summary},
      {"content", json::object{{r.doc.content_type, std::move(media)}}}};
    if (r.doc.json_body) {
      responses["400"] = problem_answer("Malformed JSON");
      responses["422"] = problem_answer("Validation failed");
    }
    if (!r.doc.permission.empty()) {
      responses["401"] = problem_answer("No valid bearer token");
      responses["403"] = problem_answer("Missing permission");
    }
    responses["default"] = problem_answer("Error");
    std::string op_id;
    for (char c : r.method + r.pattern)
      op_id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    auto tag = tag_of(r.pattern);
    tags.insert(tag);
    auto description = r.doc.summary.empty() ? std::string{"An operation"}
                                             : r.doc.summary;
    description += r.doc.permission.empty() ? ". Public."
      : r.doc.permission == "client"
      ? ". For a client's token."
      : ". Needs the admin permission `" + r.doc.permission + "`.";
    json::object op{{"operationId", op_id},
                    {"summary", r.doc.summary},
                    {"description", description},
                    {"tags", json::array{json::value(tag)}},
                    {"parameters", std::move(params)},
                    {"responses", std::move(responses)}};
    if (!r.doc.permission.empty()) {
      op["security"] = json::array{json::object{{"bearer", json::array{}}}};
      op["x-permission"] = r.doc.permission;
    }
    if (r.doc.json_body)
      op["requestBody"] = json::object{
        {"required", !r.doc.body_optional},
        {"content",
         json::object{{"application/json",
                       json::object{{"schema",
                                     r.doc.request_schema.empty()
                                       ? json::object{{"type", "object"}}
                                       : schema_ref(r.doc.request_schema)}}}}}};
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) {
                     return static_cast<char>(std::tolower(c));
                   });
    auto& path = paths[openapi_path(r.pattern)];
    if (!path.is_object())
      path = json::object{};
    path.as_object()[method] = std::move(op);
  }
  json::array tag_list;
  for (const auto& t : tags)
    tag_list.push_back(
      json::object{{"name", t}, {"description", "The " + t + " routes"}});
  json::object doc{
    {"openapi", "3.0.3"},
    {"info",
     json::object{
       {"title", title},
       {"version", version},
       {"description",
        "Billow's HTTP API: the admin API (catalogue, clients, services, "
        "billing, modules, jobs, audit), the client area and operations. "
        "Errors are application/problem+json; money is a string in the "
        "currency's minor unit (\"12.50\" EUR, \"1200\" JPY)."},
       {"contact", json::object{{"name", "The Billow project"}}}}},
    // Relative: the document is served by the server it describes.
    {"servers",
     json::array{json::object{
       {"url", "/"}, {"description", "The server that serves this document"}}}},
    {"tags", std::move(tag_list)},
    {"paths", std::move(paths)},
    {"components",
     json::object{
       {"schemas", component_schemas()},
       {"securitySchemes",
        json::object{
          {"bearer", json::object{{"type", "http"}, {"scheme", "bearer"}}}}},
     }},
  };
  return json::serialize(doc);
}

} // namespace billow::api
