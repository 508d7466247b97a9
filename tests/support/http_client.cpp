#include "tests/support/http_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace billow::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

} // namespace

struct http_connection::impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
};

http_connection::http_connection(uint16_t port,
                                 std::chrono::milliseconds timeout)
  : impl_(std::make_unique<impl>()) {
  impl_->socket.connect({net::ip::make_address("127.0.0.1"), port});
  set_timeouts(impl_->socket.native_handle(), timeout);
}

http_connection::~http_connection() = default;

http_reply http_connection::request(
  const std::string& method, const std::string& target, const std::string& body,
  const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), target,
                                       11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers)
    req.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.body() = body;
    req.prepare_payload();
  }
  http::write(impl_->socket, req);
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{64} * 1024 * 1024);
  parser.skip(method == "HEAD");
  http::read(impl_->socket, impl_->buffer, parser);
  auto res = parser.release();
  http_reply out;
  out.status = res.result_int();
  for (const auto& field : res)
    out.headers[lower(std::string{field.name_string()})]
      = std::string{field.value()};
  out.body = std::move(res.body());
  out.keep_alive = res.keep_alive();
  return out;
}

http_reply http_get(uint16_t port, const std::string& target) {
  http_connection conn{port};
  return conn.request("GET", target);
}

raw_connection::raw_connection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    throw std::runtime_error("connect failed");
}

raw_connection::~raw_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

void raw_connection::send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent,
                    MSG_NOSIGNAL);
    if (n <= 0)
      throw std::runtime_error("send failed");
    sent += static_cast<size_t>(n);
  }
}

std::string raw_connection::read_until_close(std::chrono::milliseconds timeout,
                                             bool& closed) {
  std::string out;
  closed = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return out;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      return out;
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed = true; // orderly close (0) or reset (-1)
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  raw_connection conn{port};
  conn.send(bytes);
  bool closed = false;
  return conn.read_until_close(timeout, closed);
}

} // namespace billow::test
