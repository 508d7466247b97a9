#include "api/problem.hpp"

#include <boost/json.hpp>

namespace billow::api {

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 500 ? "Client Error" : "Server Error";
  }
}

http_response problem_response(const problem& p) {
  boost::json::object doc;
  doc["type"] = p.type;
  doc["title"] = p.title.empty() ? std::string{reason_phrase(p.status)}
                                 : p.title;
  doc["status"] = p.status;
  doc["detail"] = p.detail;
  if (!p.errors.empty()) {
    boost::json::array errors;
    for (const auto& e : p.errors)
      errors.push_back(
        boost::json::object{{"field", e.field}, {"message", e.message}});
    doc["errors"] = std::move(errors);
  }
  http_response resp;
  resp.status = p.status;
  resp.content_type = "application/problem+json";
  resp.body = boost::json::serialize(doc);
  return resp;
}

http_response problem_response(unsigned status, std::string detail,
                               std::string type) {
  return problem_response(problem{status, std::string{reason_phrase(status)},
                                  std::move(detail), std::move(type)});
}

} // namespace billow::api
