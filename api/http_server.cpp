#include "api/http_server.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <fmt/compile.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/metrics.hpp"
#include "api/problem.hpp"

namespace billow::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

class session;

/// The way back from an exchange to its connection: hands the response to
/// the session on its executor (at once when already there). The work guard
/// keeps the I/O loop running while an actor works on the request. Member order
/// matters: the guard is destroyed before the session, which may own the last
/// reference to the io_context.
struct reply_to_session {
  std::shared_ptr<session> self;
  net::executor_work_guard<net::io_context::executor_type> guard;

  void operator()(http_response resp) const;
};

/// How the listener rides out failing accepts. When the process (or the
/// system) is out of descriptors or memory, the listening socket stays
/// readable and an accept retried at once fails at once: the loop would spin
/// and log each failure. Instead accepting pauses, 50 ms after the first
/// failure and twice as long after each next one, up to 1 s; the first
/// accept that works resets the pause. Connections meanwhile wait in the
/// kernel's backlog.
///
/// The log gets at most one line per `report_every` about it: the first
/// failure at once, then the count of failures (or the recovery) since.
struct accept_backoff {
  static constexpr std::chrono::milliseconds first{50};
  static constexpr std::chrono::milliseconds longest{1000};
  static constexpr std::chrono::seconds report_every{10};

  std::chrono::milliseconds pause{0};
  /// Failures not yet in a log line.
  std::uint64_t unreported = 0;
  std::optional<steady::time_point> reported;

  /// Whether a log line may be written now (and then counts it written).
  bool may_report(steady::time_point now) {
    if (reported && now - *reported < report_every)
      return false;
    reported = now;
    return true;
  }
};

} // namespace

/// State shared by the listener, the sessions and the public handle.
struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  http_options opts;
  dispatch_fn dispatch;
  std::shared_ptr<http_metrics> metrics;
  /// Runs once as the shutdown begins (`http_server::on_drain`).
  std::function<void()> on_drain;
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  /// Pauses accepting while the process is out of descriptors (or memory):
  /// the listener stays readable then, and retrying at once would spin.
  net::steady_timer accept_pause{acceptor.get_executor()};
  accept_backoff backoff;
  std::optional<net::signal_set> signals;
  std::vector<std::thread> threads;
  std::atomic<bool> draining{false};
  uint16_t bound_port = 0;

  std::mutex sessions_mtx;
  std::unordered_map<session*, std::weak_ptr<session>> sessions;

  std::mutex stop_mtx;
  std::condition_variable stop_cv;
  bool stopped = false;
  std::thread watchdog;

  impl(http_options o, dispatch_fn d, std::shared_ptr<http_metrics> m)
    : opts(std::move(o)), dispatch(std::move(d)), metrics(std::move(m)),
      ioc(static_cast<int>(std::max<std::size_t>(1, opts.io_threads))) {}

  void do_accept();
  /// An accept that failed: counts it, logs it (rate-limited) and accepts
  /// again, at once or after a pause.
  void on_accept_error(const beast::error_code& ec);
  void begin_shutdown();

  /// A new connection's executor: a strand of its own when several threads
  /// run the loop; with one thread the loop itself is the strand, and a
  /// strand's lock and hand-offs on every handler would buy nothing.
  net::any_io_executor connection_executor() {
    if (opts.io_threads > 1)
      return net::make_strand(ioc);
    return ioc.get_executor();
  }
};

namespace {

/// Turns Beast's request into Billow's; false when the target is not a valid
/// origin-form URL.
bool convert(http::request<http::string_body>&& in, http_request& out,
             std::string& error) {
  out.method = std::string{in.method_string()};
  out.target = std::string{in.target()};
  auto url = boost::urls::parse_origin_form(out.target);
  if (!url) {
    error = "the request target is not a valid path: " + url.error().message();
    return false;
  }
  out.path = url->path();
  for (auto param : url->params())
    out.query.emplace_back(param.key, param.value);
  for (const auto& field : in)
    out.headers.emplace_back(std::string{field.name_string()},
                             std::string{field.value()});
  out.body = std::move(in.body());
  return true;
}

/// What RFC 9112 refuses in a request's framing that Beast's parser lets
/// through, or empty. Beast already refuses a `Content-Length` after
/// `Transfer-Encoding: chunked`, two differing lengths and a second
/// `chunked`; it reads any other coding as "no body" (so the body would be
/// taken for the next request) and does not look at `Host` at all.
///
/// - HTTP/1.1 needs exactly one `Host` (§3.2); HTTP/1.0 may have none.
/// - The only transfer coding Billow decodes is `chunked`, alone (§6.1: a
///   request whose final coding is not chunked has no reliable length; gzip
///   before it would reach the handler still compressed), and not in
///   HTTP/1.0, which has no transfer codings (§6.1).
/// - `Content-Length` beside `Transfer-Encoding` is a smuggling attempt, not
///   a framing (§6.3).
///
/// One pass over the fields, comparing the names Beast already resolved.
std::string_view framing_error(const http::request_header<http::fields>& req) {
  std::size_t hosts = 0;
  std::size_t lengths = 0;
  std::size_t codings = 0;
  beast::string_view coding;
  for (const auto& f : req) {
    switch (f.name()) {
      case http::field::host: ++hosts; break;
      case http::field::content_length: ++lengths; break;
      case http::field::transfer_encoding:
        ++codings;
        coding = f.value();
        break;
      default: break;
    }
  }
  if (req.version() >= 11 && hosts != 1)
    return hosts == 0 ? "An HTTP/1.1 request needs a Host field."
                      : "The request has more than one Host field.";
  if (codings == 0)
    return {};
  if (req.version() < 11)
    return "HTTP/1.0 has no Transfer-Encoding.";
  if (lengths > 0)
    return "The request has both Content-Length and Transfer-Encoding.";
  if (codings > 1 || !beast::iequals(coding, "chunked"))
    return "The only Transfer-Encoding accepted is chunked.";
  return {};
}

/// Whether `text` can go into a header field as it is: no CR, LF or NUL
/// (which would end the field or the head early).
bool field_safe(std::string_view text) {
  return text.find_first_of(std::string_view{"\r\n\0", 3})
    == std::string_view::npos;
}

/// Appends the HTTP/1.x head of `resp` (status line, fields, blank line) to
/// `out`, as Beast's serializer would write it. The head goes out as one
/// flat buffer beside the body: Beast's serializer walks generic buffer
/// sequences for every write, which cost about 3.5 us of a GET's 15 here. A
/// field that could split the head (CR, LF or NUL) is left out and logged.
void render_head(const http_response& resp, unsigned version, bool keep_alive,
                 std::size_t content_length, std::string& out) {
  auto status = static_cast<http::status>(resp.status);
  auto reason = http::obsolete_reason(status);
  fmt::format_to(std::back_inserter(out), FMT_COMPILE("HTTP/{}.{} {} {}\r\n"),
                 version / 10, version % 10, resp.status,
                 std::string_view{reason.data(), reason.size()});
  auto field = [&](std::string_view name, std::string_view value) {
    if (!field_safe(name) || !field_safe(value)) {
      spdlog::warn("http: dropped response field {}: CR, LF or NUL in it",
                   std::string{name});
      return;
    }
    out.append(name).append(": ").append(value).append("\r\n");
  };
  field("Server", "billow");
  field("Content-Type", resp.content_type);
  for (const auto& [name, value] : resp.headers) {
    // Framing is the server's: a handler's copy of these would contradict it.
    if (beast::iequals(name, "Content-Length")
        || beast::iequals(name, "Transfer-Encoding")
        || beast::iequals(name, "Connection"))
      continue;
    field(name, value);
  }
  fmt::format_to(std::back_inserter(out), FMT_COMPILE("Content-Length: {}\r\n"),
                 content_length);
  // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes unless told.
  if (version >= 11 && !keep_alive)
    out.append("Connection: close\r\n");
  else if (version < 11 && keep_alive)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

/// One connection: reads requests, hands them to the dispatcher, writes the
/// replies in order. Every handler runs on the connection's strand (with one
/// I/O thread, the loop).
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, std::shared_ptr<http_server::impl> server)
    : server_(std::move(server)), stream_(std::move(socket)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec)
      remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    server_->metrics->connection_opened();
  }

  ~session() {
    server_->metrics->connection_closed();
    std::lock_guard guard{server_->sessions_mtx};
    server_->sessions.erase(this);
  }

  void run() {
    {
      std::lock_guard guard{server_->sessions_mtx};
      server_->sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->wait_for_request();
    });
  }

  friend struct reply_to_session;

  /// Called (from any thread) when the server shuts down.
  void drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->draining_ = true;
      // Idle connections go at once; a request in progress is finished;
      // a stream ends with its last chunk.
      if (self->phase_ == phase::idle)
        self->stream_.cancel();
      else if (self->phase_ == phase::streaming)
        self->end_stream(true);
    });
  }

private:
  enum class phase { idle, reading, processing, writing, streaming, closing };

  void wait_for_request() {
    if (draining_)
      return close();
    if (buffer_.size() > 0) // a pipelined request is already here
      return read_header();
    phase_ = phase::idle;
    stream_.expires_after(server_->opts.idle_timeout);
    stream_.async_read_some(
      buffer_.prepare(4096),
      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        if (ec)
          return self->close(); // idle timeout, peer closed, or drained
        self->buffer_.commit(n);
        self->read_header();
      });
  }

  void read_header() {
    phase_ = phase::reading;
    parser_.emplace();
    parser_->body_limit(server_->opts.body_limit);
    parser_->header_limit(
      static_cast<std::uint32_t>(server_->opts.header_limit));
    // Most requests arrive whole in one read: parse what is buffered first,
    // and read on only for the rest.
    beast::error_code ec;
    bool whole = parse_buffered(ec);
    if (ec)
      return on_read_error(ec);
    if (whole || parser_->is_header_done())
      return on_header({});
    stream_.expires_after(server_->opts.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec,
                                                        std::size_t) {
                              self->on_header(ec);
                            });
  }

  /// Feeds the buffered bytes to the parser: true when they hold the whole
  /// request; false with `ec` clear when more must be read.
  bool parse_buffered(beast::error_code& ec) {
    parser_->eager(true);
    while (buffer_.size() > 0 && !parser_->is_done()) {
      auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        return false;
      }
      if (ec)
        return false;
    }
    return parser_->is_done();
  }

  void on_header(beast::error_code ec) {
    if (ec)
      return on_read_error(ec);
    // Once per request, before its body is read (or, when it all came at
    // once, before it is dispatched): a body we cannot delimit is not read.
    if (auto error = framing_error(parser_->get()); !error.empty())
      return reject_framing(error);
    if (parser_->is_done())
      return on_request();
    stream_.expires_after(server_->opts.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (ec)
                         return self->on_read_error(ec);
                       self->on_request();
                     });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted
        || ec == beast::error::timeout || ec == net::error::connection_reset)
      return close();
    started_ = steady::now();
    method_ = parser_ ? std::string{parser_->get().method_string()} : "";
    if (ec == http::error::body_limit) {
      return reject(problem_response(
        413,
        "The request body is larger than the limit of "
          + std::to_string(server_->opts.body_limit) + " bytes."));
    }
    if (ec == http::error::header_limit) {
      return reject(problem_response(
        431,
        "The request headers are larger than the limit of "
          + std::to_string(server_->opts.header_limit) + " bytes."));
    }
    if (ec.category()
        == http::make_error_code(http::error::bad_target).category()) {
      // Every other parser error: the bytes are not valid HTTP/1.1.
      return reject(
        problem_response(400, "Malformed HTTP request: " + ec.message() + "."));
    }
    close(); // a socket error: nobody to answer
  }

  /// 400 for a request whose framing RFC 9112 refuses (framing_error).
  void reject_framing(std::string_view error) {
    started_ = steady::now();
    method_ = std::string{parser_->get().method_string()};
    reject(
      problem_response(400, "Malformed HTTP request: " + std::string{error}));
  }

  /// Answers a request that could not be read and closes the connection.
  void reject(http_response resp) {
    resp.close = true;
    resp.route = "malformed";
    version_ = 11;
    keep_alive_ = false;
    write(std::move(resp));
  }

  void on_request() {
    phase_ = phase::processing;
    started_ = steady::now();
    auto req = parser_->release();
    parser_.reset();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    http_request converted;
    converted.remote = remote_;
    std::string error;
    if (!convert(std::move(req), converted, error)) {
      method_ = converted.method;
      auto resp = problem_response(400, error);
      resp.route = "malformed";
      return write(std::move(resp));
    }
    method_ = converted.method;
    // The reply may come from any thread: post it back onto our strand. The
    // work guard keeps the I/O loop running while an actor works on it.
    auto ex = std::make_shared<exchange>(
      std::move(converted),
      reply_to_session{shared_from_this(), net::make_work_guard(server_->ioc)});
    server_->dispatch(std::move(ex));
  }

  void write(http_response resp) {
    if (phase_ == phase::closing)
      return;
    phase_ = phase::writing;
    route_ = resp.route.empty() ? "unknown" : resp.route;
    status_ = resp.status;
    if (resp.on_stream && !head_)
      return start_stream(std::move(resp));
    bool keep = keep_alive_ && !resp.close && !draining_;
    response_head_.clear();
    render_head(resp, version_, keep, resp.body.size(), response_head_);
    // A response to HEAD has no body whatever its Content-Length says.
    response_body_ = head_ ? std::string{} : std::move(resp.body);
    stream_.expires_after(server_->opts.write_timeout);
    std::array<net::const_buffer, 2> bytes{net::buffer(response_head_),
                                           net::buffer(response_body_)};
    net::async_write(
      stream_, bytes,
      [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
        self->server_->metrics->observe(self->method_, self->route_,
                                        self->status_,
                                        steady::now() - self->started_);
        if (ec)
          return self->close();
        if (!keep)
          return self->linger_close();
        self->wait_for_request();
      });
  }

  // -- streamed responses (server-sent events) ------------------------------

  /// Writes the headers of a chunked response, then hands a body_stream to
  /// the handler. The stream lives until the handler closes it, the client
  /// goes away, or the server drains.
  void start_stream(http_response resp) {
    phase_ = phase::streaming;
    auto res = std::make_shared<http::response<http::empty_body>>(
      static_cast<http::status>(resp.status), version_);
    res->set(http::field::server, "billow");
    res->set(http::field::content_type, resp.content_type);
    res->set(http::field::cache_control, "no-cache");
    for (auto& [name, value] : resp.headers)
      res->set(name, value);
    res->keep_alive(false);
    res->chunked(true);
    auto sr
      = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    stream_.expires_after(server_->opts.write_timeout);
    http::async_write_header(stream_, *sr,
                             [self = shared_from_this(), res, sr,
                              on_stream = std::move(resp.on_stream)](
                               beast::error_code ec, std::size_t) {
                               self->server_->metrics->observe(
                                 self->method_, self->route_, self->status_,
                                 steady::now() - self->started_);
                               if (ec)
                                 return self->close();
                               self->stream_.expires_never();
                               self->watch_for_hangup();
                               on_stream(std::make_shared<stream_handle>(self));
                             });
  }

  /// While streaming the client sends nothing; a read that ends means it
  /// hung up.
  void watch_for_hangup() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(1024),
                            [self = shared_from_this()](beast::error_code ec,
                                                        std::size_t) {
                              if (ec)
                                return self->end_stream(false);
                              self->watch_for_hangup();
                            });
  }

  /// Queues a chunk (on the strand); writes one chunk at a time.
  void stream_write(std::string chunk, body_stream::done_fn done) {
    if (phase_ != phase::streaming) {
      if (done)
        done(false);
      return;
    }
    chunks_.emplace_back(std::move(chunk), std::move(done));
    if (chunks_.size() == 1)
      write_next_chunk();
  }

  void write_next_chunk() {
    auto& [data, done] = chunks_.front();
    stream_.expires_after(server_->opts.write_timeout);
    net::async_write(stream_, http::make_chunk(net::buffer(data)),
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       self->stream_.expires_never();
                       if (self->chunks_.empty())
                         return;
                       auto done = std::move(self->chunks_.front().second);
                       self->chunks_.pop_front();
                       if (ec) {
                         if (done)
                           done(false);
                         return self->end_stream(false);
                       }
                       if (done)
                         done(true);
                       if (!self->chunks_.empty())
                         self->write_next_chunk();
                       else if (self->stream_closing_)
                         self->end_stream(true);
                     });
  }

  /// Ends a stream: the last chunk when the connection still works, then
  /// close. Pending writes answer false.
  void end_stream(bool graceful) {
    if (phase_ != phase::streaming)
      return;
    if (graceful && !chunks_.empty()) {
      stream_closing_ = true; // after the queued chunks
      return;
    }
    phase_ = phase::closing;
    for (auto& [data, done] : chunks_)
      if (done)
        done(false);
    chunks_.clear();
    if (!graceful)
      return close();
    stream_.expires_after(server_->opts.write_timeout);
    net::async_write(stream_, http::make_chunk_last(),
                     [self = shared_from_this()](beast::error_code,
                                                 std::size_t) {
                       self->close();
                     });
  }

  /// The handler's side of a streamed response. It holds its session
  /// weakly: a handler that keeps the stream after the connection ended
  /// keeps nothing alive, and nothing it posts can hold the server's
  /// io_context in a cycle. The session lives while its hang-up watch or a
  /// write is pending.
  class stream_handle : public body_stream {
  public:
    explicit stream_handle(const std::shared_ptr<session>& s) : session_(s) {}

    ~stream_handle() override {
      close();
    }

    void write(std::string chunk, done_fn done) override {
      auto s = session_.lock();
      if (!s) {
        if (done)
          done(false);
        return;
      }
      net::post(s->stream_.get_executor(),
                [weak = session_, chunk = std::move(chunk),
                 done = std::move(done)]() mutable {
                  if (auto s = weak.lock())
                    s->stream_write(std::move(chunk), std::move(done));
                  else if (done)
                    done(false);
                });
    }

    void close() override {
      if (closed_.exchange(true))
        return;
      if (auto s = session_.lock())
        net::post(s->stream_.get_executor(), [weak = session_] {
          if (auto s = weak.lock())
            s->end_stream(true);
        });
    }

  private:
    std::weak_ptr<session> session_;
    std::atomic<bool> closed_{false};
  };

  /// Closes after a response that ends the connection: send FIN, then read
  /// and discard what the client still sends (an unread body would turn our
  /// close into a reset that can destroy the response in flight).
  void linger_close() {
    phase_ = phase::closing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec)
      return close();
    stream_.expires_after(std::chrono::seconds(2));
    discard();
  }

  void discard() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(std::size_t{64} * 1024),
                            [self = shared_from_this()](beast::error_code ec,
                                                        std::size_t) {
                              if (ec)
                                return self->close();
                              self->discard();
                            });
  }

  void close() {
    phase_ = phase::closing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // Declared first so it is destroyed last: the session may hold the last
  // reference to the server, whose io_context the stream needs to close.
  std::shared_ptr<http_server::impl> server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  /// The response being written: its head (render_head) and body.
  std::string response_head_;
  std::string response_body_;
  std::string remote_;
  phase phase_ = phase::idle;
  bool draining_ = false;
  bool keep_alive_ = true;
  /// Streamed responses: chunks waiting to be written, with their callbacks.
  std::deque<std::pair<std::string, body_stream::done_fn>> chunks_;
  bool stream_closing_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  // For metrics: what the current request was and when it was read.
  std::string method_;
  std::string route_;
  unsigned status_ = 0;
  steady::time_point started_;
};

void reply_to_session::operator()(http_response resp) const {
  // The front actor answers on an I/O thread (io_execution_unit.hpp): then
  // the write starts at once; from any other thread this posts.
  net::dispatch(self->stream_.get_executor(),
                [self = self, resp = std::move(resp)]() mutable {
                  self->write(std::move(resp));
                });
}

} // namespace

void http_server::impl::do_accept() {
  acceptor.async_accept(
    connection_executor(),
    [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec)
        return self->on_accept_error(ec);
      auto& b = self->backoff;
      b.pause = {};
      if (b.unreported > 0 && b.may_report(steady::now())) {
        spdlog::info("http: accepting connections again ({} failed accepts "
                     "since the last report)",
                     b.unreported);
        b.unreported = 0;
      }
      std::make_shared<session>(std::move(socket), self)->run();
      if (!self->draining)
        self->do_accept();
    });
}

namespace {

/// The `reason` label of a failed accept: errno's name for what ran out;
/// `aborted` for a connection reset before it was taken (nothing ran out).
const char* accept_failure_reason(const beast::error_code& ec) {
  if (ec == net::error::no_descriptors) // EMFILE
    return "emfile";
  if (ec == std::errc::too_many_files_open_in_system) // ENFILE
    return "enfile";
  if (ec == net::error::no_buffer_space || ec == net::error::no_memory)
    return "enomem";
  if (ec == net::error::connection_aborted)
    return "aborted";
  return "other";
}

} // namespace

void http_server::impl::on_accept_error(const beast::error_code& ec) {
  if (ec == net::error::operation_aborted || !acceptor.is_open())
    return; // shutting down
  std::string_view reason = accept_failure_reason(ec);
  metrics->accept_failed(reason);
  if (reason == "aborted") { // that connection is gone; the next may be fine
    if (!draining)
      do_accept();
    return;
  }
  auto& b = backoff;
  b.pause = b.pause.count() == 0
    ? accept_backoff::first
    : std::min(b.pause * 2, accept_backoff::longest);
  ++b.unreported;
  if (b.may_report(steady::now())) {
    spdlog::warn("http: accept failed: {} ({}); pausing new connections for "
                 "{} ms, backing off up to {} ms ({} failed accepts since the "
                 "last report)",
                 ec.message(), reason, b.pause.count(),
                 accept_backoff::longest.count(), b.unreported);
    b.unreported = 0;
  }
  if (draining)
    return;
  accept_pause.expires_after(b.pause);
  accept_pause.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec && !self->draining && self->acceptor.is_open())
      self->do_accept();
  });
}

void http_server::impl::begin_shutdown() {
  if (draining.exchange(true))
    return;
  if (on_drain)
    on_drain();
  if (threads.empty()) {
    // Never started (or failed to): nothing runs the loop, so post nothing;
    // a posted handler would keep this object alive forever.
    beast::error_code ec;
    acceptor.close(ec);
    return;
  }
  spdlog::info("http: shutting down, finishing in-flight requests");
  // Hold the loop open while we post: a handler posted after the last
  // connection ended the loop would never run (and would keep us alive).
  auto hold = net::make_work_guard(ioc);
  net::post(acceptor.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor.close(ec);
    self->accept_pause.cancel();
  });
  if (signals) {
    net::post(ioc, [self = shared_from_this()] {
      beast::error_code ec;
      // Clearing restores the default handlers: a second Ctrl-C stops at once.
      self->signals->clear(ec);
      self->signals->cancel(ec);
    });
  }
  std::vector<std::shared_ptr<session>> live;
  {
    std::lock_guard guard{sessions_mtx};
    for (auto& [ptr, weak] : sessions)
      if (auto s = weak.lock())
        live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->drain();
  // The watchdog stops the loop if connections outlive the grace period.
  watchdog = std::thread{[self = shared_from_this()] {
    std::unique_lock guard{self->stop_mtx};
    if (!self->stop_cv.wait_for(guard, self->opts.shutdown_timeout, [&] {
          return self->stopped;
        })) {
      spdlog::warn("http: shutdown grace period over, closing remaining "
                   "connections");
      self->ioc.stop();
    }
  }};
}

http_server::http_server(http_options opts, dispatch_fn dispatch,
                         std::shared_ptr<http_metrics> metrics)
  : impl_(std::make_shared<impl>(std::move(opts), std::move(dispatch),
                                 std::move(metrics))) {
  // nop
}

http_server::~http_server() {
  shutdown();
  wait();
}

std::error_code http_server::start() {
  auto& d = *impl_;
  beast::error_code ec;
  auto address = net::ip::make_address(d.opts.host, ec);
  if (ec)
    return ec;
  tcp::endpoint endpoint{address, d.opts.port};
  d.acceptor.open(endpoint.protocol(), ec);
  if (!ec)
    d.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    d.acceptor.bind(endpoint, ec);
  if (!ec)
    d.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return ec;
  d.bound_port = d.acceptor.local_endpoint().port();
  if (d.opts.handle_signals) {
    d.signals.emplace(d.ioc, SIGINT, SIGTERM);
    d.signals->async_wait([self = impl_](beast::error_code ec, int signo) {
      if (ec)
        return;
      spdlog::info("received signal {}", signo);
      self->begin_shutdown();
    });
  }
  d.do_accept();
  auto n = std::max<std::size_t>(1, d.opts.io_threads);
  for (std::size_t i = 0; i < n; ++i)
    d.threads.emplace_back([self = impl_] {
      self->ioc.run();
    });
  return {};
}

void http_server::on_drain(std::function<void()> fn) {
  impl_->on_drain = std::move(fn);
}

void http_server::post(std::function<void()> fn) {
  net::post(impl_->ioc, std::move(fn));
}

uint16_t http_server::port() const noexcept {
  return impl_->bound_port;
}

void http_server::shutdown() {
  impl_->begin_shutdown();
}

bool http_server::draining() const noexcept {
  return impl_->draining;
}

void http_server::wait() {
  auto& d = *impl_;
  for (auto& t : d.threads)
    if (t.joinable())
      t.join();
  d.threads.clear();
  {
    std::lock_guard guard{d.stop_mtx};
    d.stopped = true;
  }
  d.stop_cv.notify_all();
  if (d.watchdog.joinable())
    d.watchdog.join();
}

} // namespace billow::api
