// modules/Notification/smtp: e-mail over SMTP with libcurl (the seed's
// puqSMTP).
//
// Module data: {"email", "server", "sender_name", "port", "encryption"
// ("none" | "starttls" | "tls"), "username", "password" (sealed)} plus the
// delivery policy {"timeout_ms", "retries", "retry_backoff_ms",
// "rate_limit_per_minute"}.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include <boost/json/serialize.hpp>
#include <curl/curl.h>
#include <sodium.h>

#include "events/errc.hpp"
#include "modules/sdk/entry.hpp"
#include "modules/sdk/notification.hpp"

namespace billow::modules::smtp {

namespace {

namespace json = boost::json;

std::string string_or(const json::object& obj, std::string_view key,
                      std::string fallback) {
  if (auto it = obj.find(key); it != obj.end() && it->value().is_string())
    return std::string{it->value().get_string()};
  return fallback;
}

int64_t int_or(const json::object& obj, std::string_view key,
               int64_t fallback) {
  if (auto it = obj.find(key); it != obj.end()) {
    if (it->value().is_int64())
      return it->value().get_int64();
    if (it->value().is_uint64())
      return static_cast<int64_t>(it->value().get_uint64());
  }
  return fallback;
}

/// A plain address check: `local@domain.tld`, no spaces or line breaks.
bool is_email(std::string_view s) {
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at != s.rfind('@')
      || s.size() > 254)
    return false;
  auto local = s.substr(0, at);
  auto domain = s.substr(at + 1);
  static constexpr std::string_view local_extra = ".!#$%&'*+/=?^_`{|}~-";
  for (char c : local)
    if (!std::isalnum(static_cast<unsigned char>(c))
        && local_extra.find(c) == std::string_view::npos)
      return false;
  if (local.front() == '.' || local.back() == '.')
    return false;
  auto dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || domain.size() - dot < 3)
    return false;
  size_t label = 0;
  for (char c : domain) {
    if (c == '.') {
      if (label == 0)
        return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      ++label;
    } else {
      return false;
    }
  }
  return label > 0;
}

std::string base64(std::string_view bytes) {
  auto len = sodium_base64_ENCODED_LEN(bytes.size(),
                                       sodium_base64_VARIANT_ORIGINAL);
  std::string out(len, '\0');
  sodium_bin2base64(out.data(), len,
                    reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(len - 1);
  return out;
}

/// Base64 in lines of 76 characters, as MIME wants.
std::string base64_lines(std::string_view bytes) {
  auto b64 = base64(bytes);
  std::string out;
  for (size_t i = 0; i < b64.size(); i += 76) {
    out += b64.substr(i, 76);
    out += "\r\n";
  }
  return out;
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 128;
  });
}

/// A header value, RFC 2047-encoded when it is not plain ASCII.
std::string header_text(std::string_view s) {
  if (is_ascii(s))
    return std::string{s};
  return "=?UTF-8?B?" + base64(s) + "?=";
}

std::string random_token() {
  std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(rng());
}

struct smtp_settings {
  std::string email;
  std::string server;
  std::string sender_name;
  int64_t port = 587;
  std::string encryption = "starttls";
  std::string username;
  std::string password;
  int64_t timeout_ms = 10000;
  int64_t retries = 3;
  int64_t retry_backoff_ms = 1000;
  int64_t rate_limit_per_minute = 60;
};

struct attachment {
  std::string filename;
  std::string content_type;
  std::string bytes;
};

/// Feeds the message to libcurl.
struct upload {
  const std::string* text;
  size_t offset = 0;
};

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* up = static_cast<upload*>(user);
  auto len = std::min(size * n, up->text->size() - up->offset);
  std::copy_n(up->text->data() + up->offset, len, buf);
  up->offset += len;
  return len;
}

} // namespace

/// The module object.
class smtp_module : public sdk::notification {
public:
  json::object get_module_data(const json::object& data) const override {
    json::object out;
    out["email"] = string_or(data, "email", "");
    out["server"] = string_or(data, "server", "");
    out["sender_name"] = string_or(data, "sender_name", "");
    out["port"] = int_or(data, "port", 587);
    out["encryption"] = string_or(data, "encryption", "starttls");
    out["username"] = string_or(data, "username", "");
    out["password"] = string_or(data, "password", "");
    out["timeout_ms"] = int_or(data, "timeout_ms", 10000);
    out["retries"] = int_or(data, "retries", 3);
    out["retry_backoff_ms"] = int_or(data, "retry_backoff_ms", 1000);
    out["rate_limit_per_minute"] = int_or(data, "rate_limit_per_minute", 60);
    return out;
  }

  caf::expected<json::object> send(const json::object& data) override {
    // 1. Validate (the seed's 422 answer names every failing field).
    json::object errors;
    auto add_error = [&](const char* field, const char* why) {
      auto& list = errors[field];
      if (!list.is_array())
        list = json::array{};
      list.get_array().emplace_back(why);
    };
    auto to = string_or(data, "to", "");
    auto subject = string_or(data, "subject", "");
    auto message = string_or(data, "message", "");
    if (!data.contains("to") || to.empty())
      add_error("to", "The to field is required.");
    else if (!is_email(to))
      add_error("to", "The to field must be a valid email address.");
    if (!data.contains("subject") || subject.empty())
      add_error("subject", "The subject field is required.");
    else if (subject.size() > 255)
      add_error("subject",
                "The subject field must not be greater than 255 characters.");
    else if (subject.find_first_of("\r\n") != std::string::npos)
      add_error("subject", "The subject field must be a single line.");
    if (!data.contains("message") || message.empty())
      add_error("message", "The message field is required.");
    std::vector<attachment> attachments;
    if (auto it = data.find("attachments"); it != data.end()) {
      if (!it->value().is_array()) {
        add_error("attachments", "The attachments field must be an array.");
      } else {
        for (const auto& a : it->value().get_array()) {
          auto parsed = parse_attachment(a);
          if (!parsed) {
            add_error("attachments",
                      "Each attachment needs filename and base64 content.");
            break;
          }
          attachments.push_back(std::move(*parsed));
        }
      }
    }
    if (!errors.empty()) {
      json::object answer{
        {"status", "error"}, {"code", 422}, {"errors", std::move(errors)}};
      return make_error(billow_errc::invalid_argument, json::serialize(answer));
    }
    auto settings = load_settings();
    if (!settings)
      return std::move(settings.error());
    // 2. The per-module rate limit.
    if (!take_token(settings->rate_limit_per_minute)) {
      log_error("send", "rate limit reached",
                json::object{{"to", to},
                             {"per_minute", settings->rate_limit_per_minute}});
      return make_error(billow_errc::unavailable,
                        "rate limit: at most "
                          + std::to_string(settings->rate_limit_per_minute)
                          + " messages per minute");
    }
    // 3. Deliver, retrying with exponential backoff.
    auto text = build_message(*settings, to, subject, message, attachments);
    caf::error last;
    auto attempts = std::max<int64_t>(1, settings->retries);
    for (int64_t attempt = 1; attempt <= attempts; ++attempt) {
      auto res = deliver(*settings, to, text);
      if (res) {
        log_info("send", "Email sent successfully",
                 json::object{
                   {"to", to}, {"subject", subject}, {"attempts", attempt}});
        return json::object{{"status", "success"}, {"attempts", attempt}};
      }
      last = res.error(); // expected<void> only offers a const error()
      log_error("send", "attempt failed",
                json::object{{"to", to},
                             {"attempt", attempt},
                             {"error", detail_of(last)}});
      if (attempt < attempts)
        std::this_thread::sleep_for(std::chrono::milliseconds{
          settings->retry_backoff_ms << (attempt - 1)});
    }
    return make_error(billow_errc::unavailable,
                      "Failed to send email after " + std::to_string(attempts)
                        + " attempts: " + detail_of(last));
  }

private:
  static std::optional<attachment> parse_attachment(const json::value& v) {
    if (!v.is_object())
      return std::nullopt;
    const auto& obj = v.get_object();
    auto name = string_or(obj, "filename", "");
    auto content = string_or(obj, "content", "");
    if (name.empty() || name.find_first_of("\r\n\"") != std::string::npos)
      return std::nullopt;
    std::string bytes(content.size(), '\0');
    size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()),
                          bytes.size(), content.data(), content.size(), "\r\n",
                          &len, nullptr, sodium_base64_VARIANT_ORIGINAL)
        != 0)
      return std::nullopt;
    bytes.resize(len);
    return attachment{
      name, string_or(obj, "content_type", "application/octet-stream"),
      std::move(bytes)};
  }

  caf::expected<smtp_settings> load_settings() const {
    auto d = get_module_data(context()->config());
    smtp_settings s;
    s.email = d["email"].get_string();
    s.server = d["server"].get_string();
    s.sender_name = d["sender_name"].get_string();
    s.port = d["port"].as_int64();
    s.encryption = d["encryption"].get_string();
    s.username = d["username"].get_string();
    s.timeout_ms = d["timeout_ms"].as_int64();
    s.retries = d["retries"].as_int64();
    s.retry_backoff_ms = d["retry_backoff_ms"].as_int64();
    s.rate_limit_per_minute = d["rate_limit_per_minute"].as_int64();
    if (!is_email(s.email) || s.server.empty() || s.port < 1 || s.port > 65535
        || (s.encryption != "none" && s.encryption != "starttls"
            && s.encryption != "tls")
        || s.timeout_ms < 1 || s.retry_backoff_ms < 0
        || s.rate_limit_per_minute < 1)
      return make_error(billow_errc::invalid_argument,
                        "smtp module data: email, server, port 1-65535, "
                        "encryption none/starttls/tls, timeout_ms > 0, "
                        "rate_limit_per_minute > 0 are required");
    if (auto pw = std::string{d["password"].get_string()}; !pw.empty()) {
      auto clear = context()->unseal(pw);
      if (!clear)
        return std::move(clear.error());
      s.password = std::move(*clear);
    }
    return s;
  }

  /// A token bucket holding `per_minute` tokens, refilled continuously.
  bool take_token(int64_t per_minute) {
    std::lock_guard guard{mtx_};
    auto now = std::chrono::steady_clock::now();
    const auto capacity = static_cast<double>(per_minute);
    if (!bucket_started_) {
      tokens_ = capacity;
      bucket_started_ = true;
    } else {
      std::chrono::duration<double> elapsed = now - last_refill_;
      tokens_ = std::min(capacity, tokens_ + elapsed.count() * capacity / 60.0);
    }
    last_refill_ = now;
    if (tokens_ < 1.0)
      return false;
    tokens_ -= 1.0;
    return true;
  }

  static std::string
  build_message(const smtp_settings& s, const std::string& to,
                const std::string& subject, const std::string& message,
                const std::vector<attachment>& files) {
    std::string from = s.sender_name.empty()
      ? s.email
      : header_text(s.sender_name) + " <" + s.email + ">";
    auto domain = s.email.substr(s.email.find('@') + 1);
    char date[64];
    auto now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    std::string out;
    out += "Date: " + std::string{date} + "\r\n";
    out += "From: " + from + "\r\n";
    out += "To: <" + to + ">\r\n";
    out += "Subject: " + header_text(subject) + "\r\n";
    out += "Message-ID: <" + random_token() + "." + random_token() + "@"
      + domain + ">\r\n";
    out += "MIME-Version: 1.0\r\n";
    auto body_type = message.find('<') != std::string::npos
        && message.find('>') != std::string::npos
      ? "text/html"
      : "text/plain";
    auto body_part = std::string{"Content-Type: "} + body_type
      + "; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
      + base64_lines(message);
    if (files.empty())
      return out + body_part;
    auto boundary = "=_billow_" + random_token();
    out += "Content-Type: multipart/mixed; boundary=\"" + boundary
      + "\"\r\n\r\n";
    out += "--" + boundary + "\r\n" + body_part;
    for (const auto& f : files) {
      out += "--" + boundary + "\r\n";
      out += "Content-Type: " + f.content_type + "\r\n";
      out += "Content-Disposition: attachment; filename=\"" + f.filename
        + "\"\r\n";
      out += "Content-Transfer-Encoding: base64\r\n\r\n";
      out += base64_lines(f.bytes);
    }
    out += "--" + boundary + "--\r\n";
    return out;
  }

  static caf::expected<void> deliver(const smtp_settings& s,
                                     const std::string& to,
                                     const std::string& text) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl{curl_easy_init(),
                                                             curl_easy_cleanup};
    if (!curl)
      return make_error(billow_errc::internal, "curl_easy_init failed");
    auto* h = curl.get();
    auto url = std::string{s.encryption == "tls" ? "smtps://" : "smtp://"}
      + s.server + ":" + std::to_string(s.port);
    auto from = "<" + s.email + ">";
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt{
      curl_slist_append(nullptr, ("<" + to + ">").c_str()),
      curl_slist_free_all};
    upload up{&text};
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s.timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s.timeout_ms);
    if (s.encryption == "starttls")
      curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!s.username.empty()) {
      curl_easy_setopt(h, CURLOPT_USERNAME, s.username.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, s.password.c_str());
    }
    auto rc = curl_easy_perform(h);
    if (rc == CURLE_OPERATION_TIMEDOUT)
      return make_error(billow_errc::timeout, "smtp: " + url + " timed out");
    if (rc != CURLE_OK)
      return make_error(billow_errc::unavailable,
                        "smtp: " + url + ": " + curl_easy_strerror(rc));
    return caf::unit;
  }

  std::mutex mtx_;
  bool bucket_started_ = false;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point last_refill_;
};

} // namespace billow::modules::smtp

BILLOW_MODULE(billow::modules::smtp::smtp_module)
