#include "api/problem.hpp"

#include <cstddef>

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
    case 507: return "Insufficient Storage";
    default: return status < 500 ? "Client Error" : "Server Error";
  }
}

namespace {

/// The length of the well-formed UTF-8 sequence at the start of `s` (`n`
/// bytes, at least one), or 0 when it is ill-formed; then `bad` is the length
/// of its maximal ill-formed subpart (at least 1), which one U+FFFD replaces.
/// The ranges are those of the Unicode standard's table 3-7: no overlong
/// forms, no surrogates, nothing above U+10FFFF.
std::size_t utf8_sequence(const unsigned char* s, std::size_t n,
                          std::size_t& bad) {
  unsigned lead = s[0];
  if (lead < 0x80)
    return 1;
  std::size_t len = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    if (lead == 0xE0)
      lo = 0xA0;
    else if (lead == 0xED)
      hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    if (lead == 0xF0)
      lo = 0x90;
    else if (lead == 0xF4)
      hi = 0x8F;
  } else {
    bad = 1;
    return 0;
  }
  for (std::size_t i = 1; i < len; ++i) {
    if (i >= n || s[i] < lo || s[i] > hi) {
      bad = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return len;
}

} // namespace

std::string valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size();
  std::size_t i = 0;
  // Most problems are ASCII: nothing to copy until a byte needs a look.
  while (i < n && s[i] < 0x80)
    ++i;
  std::string out;
  std::size_t copied = 0;
  while (i < n) {
    std::size_t bad = 0;
    if (auto len = utf8_sequence(s + i, n - i, bad); len > 0) {
      i += len;
      continue;
    }
    out.append(text.substr(copied, i - copied)).append("\xEF\xBF\xBD");
    i += bad;
    copied = i;
  }
  if (copied == 0)
    return std::string{text};
  out.append(text.substr(copied));
  return out;
}

http_response problem_response(const problem& p) {
  boost::json::object doc;
  doc["type"] = valid_utf8(p.type);
  doc["title"] = valid_utf8(p.title.empty() ? reason_phrase(p.status)
                                            : std::string_view{p.title});
  doc["status"] = p.status;
  doc["detail"] = valid_utf8(p.detail);
  if (!p.errors.empty()) {
    boost::json::array errors;
    for (const auto& e : p.errors)
      errors.push_back(boost::json::object{{"field", valid_utf8(e.field)},
                                           {"message", valid_utf8(e.message)}});
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
