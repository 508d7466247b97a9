// Every error answer is a valid problem+json document, whatever the request
// held: random and percent-encoded paths built from the route table, query
// strings, tokens and bodies, through a real client, and raw requests with
// bytes that are not UTF-8 in their target and fields. Seeded: the seed is
// printed with each failure, and BILLOW_FUZZ_SEED replays a run.

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <regex>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/api/client_fixture.hpp"

using billow::test::http_connection;
using billow::test::http_reply;
using billow::test::raw_connection;

namespace {

uint64_t fuzz_seed() {
  if (const char* env = std::getenv("BILLOW_FUZZ_SEED"))
    return std::strtoull(env, nullptr, 10);
  return 20250125;
}

/// Random request parts. Text comes in kinds a client may send: ASCII,
/// UTF-8, bytes that are not UTF-8 (raw or percent-encoded), escapes.
class generator {
public:
  explicit generator(uint64_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng_);
  }

  bool chance(unsigned percent) {
    return below(100) < percent;
  }

  template <class T>
  const T& pick(const std::vector<T>& from) {
    return from[below(from.size())];
  }

  /// Random bytes, each any value (`printable`: no controls, space, CR, LF).
  std::string bytes(std::size_t max_len, bool printable) {
    std::string out;
    auto n = below(max_len + 1);
    for (std::size_t i = 0; i < n; ++i) {
      auto c = static_cast<unsigned char>(below(256));
      if (printable && (c <= 0x20 || c == 0x7f))
        c = static_cast<unsigned char>('!' + below(94));
      out += static_cast<char>(c);
    }
    return out;
  }

  /// `text` percent-encoded as a path segment or query value would be,
  /// with a few reserved characters left raw on purpose.
  std::string percent(const std::string& text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
      if (std::isalnum(c) || (c == '-' || c == '.' || c == '_' || c == '~')
          || (chance(3) && (c == '=' || c == '&' || c == '+' || c == ';'))) {
        out += static_cast<char>(c);
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  }

  /// A value for a path parameter or query string, percent-encoded.
  std::string segment() {
    switch (below(8)) {
      case 0: return "%ff%fe";
      case 1: return percent(bytes(24, false));
      case 2: return percent(utf8_text());
      case 3: return "00000000-0000-0000-0000-000000000000";
      case 4: return percent("\xED\xA0\x80" + bytes(4, false)); // a surrogate
      case 5: return percent(std::string(below(3000) + 1, 'x'));
      case 6: return percent(bytes(8, false)) + "%C0%AF"; // overlong '/'
      default: return percent(bytes(12, true));
    }
  }

  std::string utf8_text() {
    static const std::vector<std::string> pieces{"a",
                                                 "Z",
                                                 "\xC3\xA9",
                                                 "\xE2\x82\xAC",
                                                 "\xF0\x9F\x98\x80",
                                                 " ",
                                                 "\"",
                                                 "\\",
                                                 "\n",
                                                 std::string(1, '\0'),
                                                 "\xE2\x80\xAE",
                                                 "<script>"};
    std::string out;
    for (auto n = below(10); n > 0; --n)
      out += pick(pieces);
    return out;
  }

  /// A request body: garbage, JSON with odd strings, or a JSON object with
  /// keys the routes know and values of the wrong kinds.
  std::string body() {
    static const std::vector<std::string> keys{
      "name",       "email",  "currency", "password",    "client_id",
      "product_id", "period", "amount",   "items",       "reason",
      "prices",     "when",   "rate",     "permissions", "totp",
      "due_date",   "module", "x\xFF",    "\xC3\xA9"};
    switch (below(6)) {
      case 0: return {};
      case 1: return bytes(200, false);
      case 2: return "{\"" + bytes(10, true) + "\": \"\\ud800\"}";
      case 3: return "{\"name\": \"\xFF\xFE\"}"; // raw bytes in a string
      default: {
        std::string out = "{";
        for (auto n = below(5); n > 0; --n) {
          if (out.size() > 1)
            out += ',';
          boost::json::string key{pick(keys)};
          out += boost::json::serialize(boost::json::value{key}) + ':';
          switch (below(5)) {
            case 0: out += "12.5"; break;
            case 1: out += "null"; break;
            case 2: out += "[{\"amount\":\"x\"}]"; break;
            case 3:
              out += boost::json::serialize(
                boost::json::value{boost::json::string{utf8_text()}});
              break;
            default: out += "\"\\u0000\\u00ff\\uDBFF\\uDFFF\""; break;
          }
        }
        return out + "}";
      }
    }
  }

private:
  std::mt19937_64 rng_;
};

/// The problems found in one answer, or empty.
std::string check_answer(unsigned status, const std::string& method,
                         const std::string& content_type,
                         const std::string& body) {
  std::ostringstream bad;
  if (status >= 500 && status != 503 && status != 504)
    bad << "a " << status << " is not a documented answer; ";
  bool problem = content_type == "application/problem+json";
  if (status >= 400 && !problem)
    bad << "content type " << content_type << ", not problem+json; ";
  if (method == "HEAD" || (!problem && content_type != "application/json"))
    return bad.str();
  boost::system::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec)
    return bad.str() + "the body is not JSON (" + ec.message() + ")";
  if (problem) {
    if (!doc.is_object())
      return bad.str() + "the problem is not an object";
    const auto& obj = doc.as_object();
    auto* st = obj.if_contains("status");
    if (!st || !st->is_int64() || st->as_int64() != status)
      bad << "status " << (st ? boost::json::serialize(*st) : "missing")
          << " in the body; ";
    for (const char* key : {"type", "title", "detail"})
      if (!obj.contains(key) || !obj.at(key).is_string())
        bad << key << " missing; ";
  }
  return bad.str();
}

/// Printable: the request as a C string literal would write it.
std::string escaped(const std::string& text) {
  std::string out;
  for (unsigned char c : text.substr(0, 300)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

class problem_fuzz_test : public billow::test::client_fixture {
protected:
  /// Every route pattern of the served OpenAPI document with its methods,
  /// less those whose success is a stream that never ends.
  std::vector<std::pair<std::string, std::string>> routes() {
    auto r = call("GET", "/api/v1/openapi.json");
    EXPECT_EQ(r.status, 200u);
    std::vector<std::pair<std::string, std::string>> out;
    auto served = doc(r);
    for (const auto& [path, ops] : served.at("paths").as_object()) {
      std::string pattern{path};
      if (pattern.size() >= 5 && pattern.substr(pattern.size() - 5) == "/live")
        continue;
      for (const auto& [method, op] : ops.as_object()) {
        std::string upper{method};
        for (auto& c : upper)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.emplace_back(upper, pattern);
      }
    }
    return out;
  }
};

} // namespace

TEST_F(problem_fuzz_test, every_error_answer_is_a_problem_json_document) {
  auto seed = fuzz_seed();
  generator gen{seed};
  auto table = routes();
  ASSERT_GT(table.size(), 20u);
  static const std::vector<std::string> query_keys{
    "limit", "cursor", "status", "client_id", "product_id", "type", "stream",
    "after", "from",   "to",     "until",     "at",         "q",    "x\xFF"};
  static const std::vector<std::string> methods{"GET",    "POST",  "PUT",
                                                "DELETE", "PATCH", "HEAD"};
  auto conn = std::make_unique<http_connection>(app_->port(),
                                                std::chrono::seconds(30));
  int failures = 0;
  int answered = 0;
  std::map<unsigned, int> statuses;
  constexpr int requests = 3000;
  for (int i = 0; i < requests && failures < 20; ++i) {
    auto [method, pattern] = gen.pick(table);
    if (gen.chance(10))
      method = gen.pick(methods);
    // Fill each {param} (and the {rest...} tail) with a random segment.
    std::string target;
    for (std::size_t pos = 0; pos < pattern.size();) {
      auto open = pattern.find('{', pos);
      if (open == std::string::npos) {
        target += pattern.substr(pos);
        break;
      }
      target += pattern.substr(pos, open - pos);
      target += gen.segment();
      pos = pattern.find('}', open) + 1;
    }
    if (gen.chance(15)) {
      target += '/';
      target += gen.segment();
    }
    if (gen.chance(50)) {
      char sep = '?';
      for (auto n = gen.below(4) + 1; n > 0; --n) {
        target += sep;
        target += gen.percent(gen.pick(query_keys));
        target += '=';
        target += gen.segment();
        sep = '&';
      }
    }
    std::vector<std::pair<std::string, std::string>> headers;
    if (gen.chance(85))
      headers.emplace_back("Authorization", owner_);
    else if (gen.chance(50))
      headers.emplace_back("Authorization", "Bearer " + gen.bytes(40, true));
    if (gen.chance(10))
      headers.emplace_back("Idempotency-Key", gen.bytes(300, true));
    if (gen.chance(10))
      headers.emplace_back("If-Match", gen.bytes(10, true));
    if (gen.chance(5))
      headers.emplace_back("X-Billow-Client", gen.bytes(40, true));
    std::string body = method == "GET" || method == "HEAD" ? std::string{}
                                                           : gen.body();
    std::string what = method + " " + escaped(target) + " body " + escaped(body)
      + " (request " + std::to_string(i) + ", seed " + std::to_string(seed)
      + ")";
    http_reply reply;
    try {
      if (!conn)
        conn = std::make_unique<http_connection>(app_->port(),
                                                 std::chrono::seconds(30));
      reply = conn->request(method, target, body, headers);
    } catch (const std::exception& ex) {
      ADD_FAILURE() << "no answer (" << ex.what() << ") to " << what;
      ++failures;
      conn.reset();
      continue;
    }
    ++answered;
    ++statuses[reply.status];
    if (!reply.keep_alive)
      conn.reset();
    auto bad = check_answer(reply.status, method, reply.header("content-type"),
                            reply.body);
    if (!bad.empty()) {
      ADD_FAILURE() << reply.status << ": " << bad << "\n  request: " << what
                    << "\n  body: " << escaped(reply.body);
      ++failures;
    }
  }
  EXPECT_EQ(failures, 0) << "seed " << seed;
  EXPECT_GT(answered, requests / 2);
  std::ostringstream seen;
  for (auto [status, count] : statuses)
    seen << ' ' << status << ":" << count;
  std::printf("%d requests over %zu routes, seed %llu; answers by status:%s\n",
              answered, table.size(), static_cast<unsigned long long>(seed),
              seen.str().c_str());
}

TEST_F(problem_fuzz_test, raw_requests_with_odd_bytes_get_problem_json) {
  auto seed = fuzz_seed() + 1;
  generator gen{seed};
  static const std::vector<std::string> framings{
    "",
    "Host: x\r\n",
    "Host: a\r\nHost: b\r\n",
    "Transfer-Encoding: gzip\r\n",
    "Transfer-Encoding: gzip, chunked\r\n",
    "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
    "Content-Length: 1\r\nContent-Length: 2\r\n",
    "Expect: 100-continue\r\n"};
  static const std::vector<std::string> paths{"/api/v1/admin/services/",
                                              "/api/v1/admin/clients/",
                                              "/api/v1/",
                                              "/modules/Payment/",
                                              "/healthz/",
                                              "/"};
  int failures = 0;
  for (int i = 0; i < 400 && failures < 20; ++i) {
    // Raw bytes in the target (no space, CR or LF: those end the line).
    std::string target = gen.pick(paths) + gen.bytes(30, true);
    if (gen.chance(30))
      target += "?q=" + gen.bytes(20, true);
    std::string version = gen.chance(90) ? "HTTP/1.1" : "HTTP/1.0";
    std::string request = (gen.chance(80) ? "GET " : "POST ") + target + " "
      + version + "\r\n";
    if (gen.chance(90))
      request += "Host: 127.0.0.1\r\n";
    else
      request += gen.pick(framings);
    if (gen.chance(60))
      request += "Authorization: " + owner_ + "\r\n";
    if (gen.chance(30))
      request += "X-Odd: " + gen.bytes(40, true) + "\r\n";
    request += "Connection: close\r\n\r\n";
    std::string what = escaped(request) + " (request " + std::to_string(i)
      + ", seed " + std::to_string(seed) + ")";
    std::string got;
    bool closed = false;
    try {
      raw_connection conn{app_->port()};
      conn.send(request);
      got = conn.read_until_close(std::chrono::seconds(10), closed);
    } catch (const std::exception& ex) {
      ADD_FAILURE() << "no answer (" << ex.what() << ") to " << what;
      ++failures;
      continue;
    }
    std::smatch m;
    auto head_end = got.find("\r\n\r\n");
    if (!closed || head_end == std::string::npos
        || !std::regex_search(got, m,
                              std::regex{R"(^HTTP/1\.[01] (\d{3}) )"})) {
      ADD_FAILURE() << "no whole answer to " << what << ": " << escaped(got);
      ++failures;
      continue;
    }
    auto head = got.substr(0, head_end);
    std::smatch ct;
    std::regex_search(head, ct, std::regex{R"(\r\nContent-Type: ([^\r]*))"});
    auto status = static_cast<unsigned>(std::stoul(m[1]));
    auto bad = check_answer(status, "GET", ct.empty() ? "" : ct[1].str(),
                            got.substr(head_end + 4));
    if (!bad.empty()) {
      ADD_FAILURE() << status << ": " << bad << "\n  request: " << what
                    << "\n  answer: " << escaped(got);
      ++failures;
    }
  }
  EXPECT_EQ(failures, 0) << "seed " << seed;
}
