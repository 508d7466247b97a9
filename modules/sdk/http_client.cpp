#include "modules/sdk/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include <curl/curl.h>

#include "events/errc.hpp"

namespace billow::modules::sdk {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
    && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
             == std::tolower(static_cast<unsigned char>(y));
         });
}

size_t on_body(char* ptr, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(ptr, size * n);
  return size * n;
}

size_t on_header(char* ptr, size_t size, size_t n, void* user) {
  auto* resp = static_cast<http_response*>(user);
  std::string_view line{ptr, size * n};
  if (line.starts_with("HTTP/")) {
    resp->headers.clear(); // a new response (e.g. after 100 Continue)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos)
    return size * n;
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
      s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
      s.remove_suffix(1);
    return s;
  };
  resp->headers.emplace_back(std::string{trim(line.substr(0, colon))},
                             std::string{trim(line.substr(colon + 1))});
  return size * n;
}

void ensure_curl() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)rc;
}

} // namespace

std::string http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name))
      return v;
  return {};
}

caf::expected<http_response> http_client::send(const http_request& req) const {
  static constexpr std::string_view methods[] = {"GET",   "POST",   "PUT",
                                                 "PATCH", "DELETE", "HEAD"};
  if (req.url.empty())
    return make_error(billow_errc::invalid_argument, "http: empty URL");
  if (std::find(std::begin(methods), std::end(methods), req.method)
      == std::end(methods))
    return make_error(billow_errc::invalid_argument,
                      "http: unsupported method " + req.method);
  ensure_curl();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl{curl_easy_init(),
                                                           curl_easy_cleanup};
  if (!curl)
    return make_error(billow_errc::internal, "http: curl_easy_init failed");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers{
    nullptr, curl_slist_free_all};
  for (const auto& [k, v] : req.headers) {
    auto line = k + ": " + v;
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  }
  http_response resp;
  auto* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, req.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, req.verify_tls ? 2L : 0L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp);
  if (headers)
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(req.body.size()));
  }
  auto rc = curl_easy_perform(h);
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return make_error(billow_errc::timeout,
                      "http: " + req.method + " " + req.url + " timed out");
  if (rc != CURLE_OK)
    return make_error(billow_errc::unavailable,
                      "http: " + req.method + " " + req.url + ": "
                        + curl_easy_strerror(rc));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

caf::expected<http_response> http_client::get(std::string url) const {
  http_request req;
  req.url = std::move(url);
  return send(req);
}

caf::expected<http_response> http_client::post_json(std::string url,
                                                    std::string body) const {
  http_request req;
  req.method = "POST";
  req.url = std::move(url);
  req.body = std::move(body);
  req.headers.emplace_back("Content-Type", "application/json");
  return send(req);
}

} // namespace billow::modules::sdk
