#include "bench/http_load.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace billow::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

struct shared_counters {
  std::atomic<uint64_t> started{0};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> errors{0};
  uint64_t max_requests = 0;
  steady::time_point deadline;
};

class client : public std::enable_shared_from_this<client> {
public:
  client(net::io_context& ioc, tcp::endpoint ep, const std::string& request,
         shared_counters& counters)
    : socket_(net::make_strand(ioc)), ep_(std::move(ep)), request_(request),
      counters_(counters) {}

  void start() {
    socket_.async_connect(ep_,
                          [self = shared_from_this()](beast::error_code ec) {
                            if (ec) {
                              ++self->counters_.errors;
                              return;
                            }
                            self->next();
                          });
  }

private:
  void next() {
    if (steady::now() >= counters_.deadline
        || counters_.started.fetch_add(1) >= counters_.max_requests)
      return;
    net::async_write(socket_, net::buffer(request_),
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (ec) {
                         ++self->counters_.errors;
                         return;
                       }
                       self->read();
                     });
  }

  void read() {
    parser_.emplace();
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (ec || self->parser_->get().result_int() != 200) {
                         ++self->counters_.errors;
                         return;
                       }
                       ++self->counters_.done;
                       self->next();
                     });
  }

  tcp::socket socket_;
  tcp::endpoint ep_;
  const std::string& request_;
  shared_counters& counters_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

} // namespace

load_result run_http_load(uint16_t port, const std::string& target,
                          std::size_t connections, std::size_t threads,
                          uint64_t max_requests,
                          std::chrono::milliseconds max_time) {
  net::io_context ioc;
  shared_counters counters;
  counters.max_requests = max_requests;
  auto request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), port};
  auto start = steady::now();
  counters.deadline = start + max_time;
  for (std::size_t i = 0; i < connections; ++i)
    std::make_shared<client>(ioc, ep, request, counters)->start();
  std::vector<std::thread> pool;
  for (std::size_t i = 0; i < threads; ++i)
    pool.emplace_back([&] {
      ioc.run();
    });
  for (auto& t : pool)
    t.join();
  load_result out;
  out.seconds = std::chrono::duration<double>(steady::now() - start).count();
  out.requests = counters.done;
  out.errors = counters.errors;
  return out;
}

struct minimal_http_server::impl : std::enable_shared_from_this<impl> {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::string response;

  explicit impl(std::string body) {
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::server, "billow");
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    res.prepare_payload();
    std::ostringstream out;
    out << res;
    response = out.str();
  }

  void accept() {
    acceptor.async_accept(
      net::make_strand(ioc),
      [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (ec)
          return;
        std::make_shared<conn>(std::move(socket), self)->read();
        self->accept();
      });
  }

  /// Reads a request with Beast's parser and writes the prepared bytes.
  struct conn : std::enable_shared_from_this<conn> {
    conn(tcp::socket s, std::shared_ptr<impl> srv)
      : socket(std::move(s)), server(std::move(srv)) {}
    void read() {
      req = {};
      http::async_read(
        socket, buffer, req,
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec)
            return;
          net::async_write(self->socket, net::buffer(self->server->response),
                           [self](beast::error_code ec, std::size_t) {
                             if (!ec)
                               self->read();
                           });
        });
    }
    tcp::socket socket;
    std::shared_ptr<impl> server;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
  };
};

minimal_http_server::minimal_http_server(std::size_t io_threads,
                                         std::string body)
  : impl_(std::make_shared<impl>(std::move(body))) {
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->accept();
  for (std::size_t i = 0; i < io_threads; ++i)
    impl_->threads.emplace_back([d = impl_] {
      d->ioc.run();
    });
}

minimal_http_server::~minimal_http_server() {
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
}

uint16_t minimal_http_server::port() const noexcept {
  return impl_->acceptor.local_endpoint().port();
}

} // namespace billow::bench
