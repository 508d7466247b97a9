#include "cli/remote.hpp"

#include <memory>

#include <curl/curl.h>
#include <spdlog/fmt/fmt.h>

#include <boost/json.hpp>
#include <boost/url.hpp>

#include "events/errc.hpp"

namespace billow::cli {

namespace {

struct curl_deleter {
  void operator()(CURL* h) const noexcept {
    curl_easy_cleanup(h);
  }
};

struct slist_deleter {
  void operator()(curl_slist* l) const noexcept {
    curl_slist_free_all(l);
  }
};

using curl_ptr = std::unique_ptr<CURL, curl_deleter>;
using slist_ptr = std::unique_ptr<curl_slist, slist_deleter>;

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

/// Splits the stream into lines for `stream_lines`; returning 0 from the
/// write callback makes libcurl stop the transfer.
struct line_splitter {
  const std::function<bool(std::string_view)>* on_line;
  CURL* handle;
  std::string pending;
  /// The body of an answer that is not a stream (an error), kept whole.
  std::string error_body;
  bool stopped = false;
};

size_t split_lines(char* data, size_t size, size_t n, void* arg) {
  auto& s = *static_cast<line_splitter*>(arg);
  long status = 0;
  curl_easy_getinfo(s.handle, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    s.error_body.append(data, size * n);
    return size * n;
  }
  s.pending.append(data, size * n);
  size_t start = 0;
  for (auto nl = s.pending.find('\n'); nl != std::string::npos;
       nl = s.pending.find('\n', start)) {
    std::string_view line{s.pending.data() + start, nl - start};
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    start = nl + 1;
    if (!(*s.on_line)(line)) {
      s.stopped = true;
      return 0;
    }
  }
  s.pending.erase(0, start);
  return size * n;
}

caf::error transport_error(CURLcode rc, const std::string& url) {
  return make_error(billow_errc::unavailable,
                    fmt::format("cannot reach {}: {}", url,
                                curl_easy_strerror(rc)));
}

} // namespace

std::string remote_answer::problem_text() const {
  boost::system::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object())
    return body.empty() ? fmt::format("{}", status)
                        : fmt::format("{}: {}", status, body);
  const auto& o = doc.as_object();
  auto text = [&o](const char* key) -> std::string_view {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string_view{v->as_string()}
                               : std::string_view{};
  };
  auto out = fmt::format("{} {}: {}", status, text("title"), text("detail"));
  if (const auto* errs = o.if_contains("errors"); errs && errs->is_array())
    for (const auto& e : errs->as_array())
      if (const auto* f = e.if_object())
        out += fmt::format("\n  {}: {}", boost::json::serialize(f->at("field")),
                           boost::json::serialize(f->at("message")));
  return out;
}

remote::remote(std::string server, std::string token)
  : server_(std::move(server)), token_(std::move(token)) {
  while (!server_.empty() && server_.back() == '/')
    server_.pop_back();
}

caf::expected<std::string> remote::url(std::string_view path,
                                       const query_params& params) const {
  auto base = boost::urls::parse_uri(server_);
  if (!base || (base->scheme() != "http" && base->scheme() != "https"))
    return make_error(billow_errc::invalid_argument,
                      fmt::format("--server must be an http:// or https:// "
                                  "URL, not '{}'",
                                  server_));
  boost::urls::url u{*base};
  u.set_path(path);
  for (const auto& [k, v] : params)
    if (!v.empty())
      u.params().append({k, v});
  return std::string{u.buffer()};
}

namespace {

/// A handle with the settings every call shares.
caf::expected<curl_ptr>
make_handle(const std::string& url, const std::string& token,
            slist_ptr& headers, long timeout_s, std::string_view accept) {
  curl_ptr h{curl_easy_init()};
  if (!h)
    return make_error(billow_errc::unavailable, "libcurl failed to start");
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(h.get(), CURLOPT_USERAGENT, "billow-cli/0.1.0");
  headers.reset(
    curl_slist_append(nullptr, fmt::format("Accept: {}", accept).c_str()));
  if (!token.empty())
    headers.reset(curl_slist_append(
      headers.release(),
      fmt::format("Authorization: Bearer {}", token).c_str()));
  curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers.get());
  return h;
}

} // namespace

caf::expected<remote_answer> remote::get(std::string_view path,
                                         const query_params& params) const {
  return call(path, params, nullptr, 300L);
}

caf::expected<remote_answer> remote::post_json(std::string_view path,
                                               const std::string& body) const {
  return call(path, {}, &body, 60L);
}

caf::expected<remote_answer>
remote::call(std::string_view path, const query_params& params,
             const std::string* json_body, long timeout_s) const {
  auto u = url(path, params);
  if (!u)
    return std::move(u.error());
  slist_ptr headers;
  auto h = make_handle(*u, token_, headers, timeout_s, "application/json");
  if (!h)
    return std::move(h.error());
  if (json_body != nullptr) {
    headers.reset(
      curl_slist_append(headers.release(), "Content-Type: application/json"));
    curl_easy_setopt(h->get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h->get(), CURLOPT_POSTFIELDS, json_body->c_str());
    curl_easy_setopt(h->get(), CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(json_body->size()));
  }
  remote_answer out;
  curl_easy_setopt(h->get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h->get(), CURLOPT_WRITEDATA, &out.body);
  if (auto rc = curl_easy_perform(h->get()); rc != CURLE_OK)
    return transport_error(rc, *u);
  curl_easy_getinfo(h->get(), CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

caf::expected<remote_answer> remote::stream_lines(
  std::string_view path, const query_params& params,
  const std::function<bool(std::string_view)>& on_line) const {
  auto u = url(path, params);
  if (!u)
    return std::move(u.error());
  slist_ptr headers;
  // No overall timeout: a live stream lasts until the caller stops it.
  auto h = make_handle(*u, token_, headers, 0L, "text/event-stream");
  if (!h)
    return std::move(h.error());
  line_splitter s{&on_line, h->get(), {}, {}, false};
  curl_easy_setopt(h->get(), CURLOPT_WRITEFUNCTION, split_lines);
  curl_easy_setopt(h->get(), CURLOPT_WRITEDATA, &s);
  auto rc = curl_easy_perform(h->get());
  long status = 0;
  curl_easy_getinfo(h->get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && s.stopped))
    return transport_error(rc, *u);
  return remote_answer{status, std::move(s.error_body)};
}

} // namespace billow::cli
