#include "net/http/http_server.hpp"

#include "net/http/request_rules.hpp"
#include "net/http/ws_connection.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

#include <nlohmann/json.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <cctype>
#include <utility>

namespace hub::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Limits for requests, as named constants where they are used.
constexpr std::size_t header_limit = 16 * 1024;
constexpr std::chrono::seconds write_timeout{30};
// While a long-poll is held, what the client sends on the same connection is kept for
// the next request; more than one request's headers of it is not a client we serve.
constexpr std::size_t held_poll_buffer_limit = header_limit;

}  // namespace

// -- one HTTP connection ------------------------------------------------------------------

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, const route_table& routes, std::size_t max_body, const http_limits& limits,
               std::shared_ptr<connection_limits::slot> slot)
    : stream_(std::move(socket)),
      routes_(routes),
      max_body_(max_body),
      limits_(limits),
      slot_(std::move(slot)),
      header_timer_(stream_.get_executor()) {}

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

  // Completes the request in progress (called through request_responder, any thread).
  void complete(std::uint64_t generation, eio::http_reply reply) {
    net::post(stream_.get_executor(), [self = shared_from_this(), generation, reply = std::move(reply)]() mutable {
      if (generation != self->generation_ || self->reply_) return;
      self->reply_ = std::move(reply);
      if (self->watching_) {
        // Stop watching the held poll's socket; the read handler then writes.
        boost::system::error_code ignored;
        self->stream_.socket().cancel(ignored);
      } else {
        self->write_reply();
      }
    });
  }

 private:
  // Keeps the HTTP session alive until its request is answered (a long-poll's reply
  // can come much later, when no read or write is pending on the socket).
  struct request_responder : eio::responder {
    std::shared_ptr<http_session> session;
    std::uint64_t generation = 0;
    void reply(eio::http_reply r) override {
      if (auto s = std::exchange(session, nullptr)) s->complete(generation, std::move(r));
    }
  };

  // The headers first, under a deadline of their own (a client that trickles them
  // holds a slot for at most header_timeout), then the body.
  void read_request() {
    head_ = false;
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(max_body_);
    stream_.expires_never();
    header_timed_out_ = false;
    header_timer_.expires_after(limits_.header_timeout);
    header_timer_.async_wait([w = weak_from_this()](beast::error_code ec) {
      auto self = w.lock();
      if (ec || !self) return;
      self->header_timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&http_session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    header_timer_.cancel();
    if (header_timed_out_ && ec) {
      // Idle keep-alive: just close. Part of a request: tell the client why (RFC 9110 §15.5.9).
      if (!parser_->got_some()) return do_close();
      metrics::refused(metrics::refusal::header_timeout);
      return refuse(408, "request headers not received in time");
    }
    if (ec == bhttp::error::end_of_stream) return do_close();
    if (ec) return on_read_error(ec);
    if (const char* why = framing_error(parser_->get())) {
      metrics::refused(metrics::refusal::bad_http_framing);
      return refuse(400, why);
    }
    stream_.expires_after(limits_.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read_error(beast::error_code ec) {
    if (is_framing_error(ec)) {
      metrics::refused(metrics::refusal::bad_http_framing);
      return refuse(400, ec.message().c_str());
    }
    // timeout, reset, EOF mid-request: drop the connection
  }

  // Answers the request being read with an error and closes the connection after it.
  void refuse(int status, const char* why) {
    log::debug("refusing HTTP request (", status, "): ", why);
    json_error_reply(status, why);
  }

  void json_error_reply(int status, const std::string& message) {
    nlohmann::json body{{"error", message}};
    reply_ = eio::http_reply{status, "application/json", body.dump(), {}, true};
    keep_alive_ = false;
    engine_ = nullptr;
    write_reply();
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream) return do_close();
    if (ec == bhttp::error::body_limit) {
      // Larger than maxHttpBufferSize: 413, and this TCP connection is done (the rest of
      // the body was not read); the Engine.IO session itself goes on.
      reply_ = eio::http_reply{413, {}, {}, {}, true};
      keep_alive_ = false;
      return write_reply();
    }
    if (ec) return on_read_error(ec);
    // No exception leaves a request: a throw from a route or an engine becomes a 500 for
    // this request only (counted), and the connection closes after it.
    try {
      dispatch();
    } catch (const std::exception& e) {
      fail_request(e.what());
    } catch (...) {
      fail_request("unknown exception");
    }
  }

  void fail_request(const char* what) {
    metrics::refused(metrics::refusal::http_exception);
    log::warn("internal error answering ", request_info_.method, ' ', request_info_.target, ": ", what);
    if (reply_ || watching_) return;  // an answer is already on its way
    reply_ = eio::http_reply{500, "application/json", R"({"error":"internal error"})", {}, true};
    keep_alive_ = false;
    engine_ = nullptr;
    write_reply();
  }

  void dispatch() {
    auto req = parser_->release();
    ++generation_;
    reply_.reset();
    keep_alive_ = req.keep_alive();

    eio::request_info info;
    info.method = std::string(req.method_string());
    info.target = std::string(req.target());
    auto q = info.target.find('?');
    std::string path = info.target.substr(0, q);
    if (q != std::string::npos) info.query = parse_query(std::string_view(info.target).substr(q + 1));
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      info.headers[name] = std::string(f.value());
    }
    info.websocket_upgrade = beast::websocket::is_upgrade(req);
    beast::error_code rec;
    auto ep = stream_.socket().remote_endpoint(rec);
    if (!rec) info.remote_address = ep.address().to_string();
    request_info_ = info;
    head_ = info.method == "HEAD";

    if (!info.websocket_upgrade && try_handlers(routes_.before_engines, info, req)) return;
    for (auto& [prefix, engine] : routes_.engines) {
      if (!path_matches(path, prefix)) continue;
      // Each handshake opens an Engine.IO session; one connection may not open many.
      if (info.query.find("sid") == info.query.end() && ++handshakes_ > limits_.max_handshakes_per_connection) {
        metrics::refused(metrics::refusal::too_many_sessions_per_connection);
        return json_error_reply(429, "too many sessions opened over one connection");
      }
      engine_ = engine;
      if (info.websocket_upgrade) return upgrade(std::move(req), std::move(info));
      if (info.body.empty()) info.body = std::move(req.body());
      auto r = std::make_shared<request_responder>();
      r->session = shared_from_this();
      r->generation = generation_;
      auto held = engine->handle_http(std::move(info), r);
      if (held && !reply_) watch_held_poll(std::move(held), std::move(r));
      return;
    }
    if (try_handlers(routes_.handlers, info, req)) return;
    reply_ = eio::http_reply{404, "application/json", R"({"error":"not found"})", {}, false};
    write_reply();
  }

  // Offers the request to plain handlers in order; true when one took it.
  bool try_handlers(const std::vector<handler>& handlers, eio::request_info& info,
                    bhttp::request<bhttp::string_body>& req) {
    engine_ = nullptr;
    if (handlers.empty()) return false;
    if (info.body.empty()) info.body = std::move(req.body());
    auto r = std::make_shared<request_responder>();
    r->session = shared_from_this();
    r->generation = generation_;
    for (const auto& h : handlers)
      if (h(info, r)) return true;
    r->session.reset();
    return false;
  }

  // While a long-poll is held, read from the socket: an error means the client went
  // away, which ends the Engine.IO session as in Node.
  void watch_held_poll(eio::session_ptr session, std::shared_ptr<request_responder> r) {
    held_session_ = std::move(session);
    held_responder_ = std::move(r);
    watching_ = true;
    stream_.expires_never();
    stream_.async_read_some(buffer_.prepare(1024),
                            beast::bind_front_handler(&http_session::on_watch, shared_from_this()));
  }

  void on_watch(beast::error_code ec, std::size_t n) {
    if (n > 0) buffer_.commit(n);  // a pipelined request: keep it for later
    if (!reply_ && !ec && buffer_.size() > held_poll_buffer_limit) {
      // Not a pipelined request but a flood: the poll ends as if the client had gone.
      metrics::refused(metrics::refusal::held_poll_flood);
      log::info("closing a held long-poll: ", buffer_.size(), " bytes sent while it was held");
      ec = net::error::connection_aborted;
    }
    if (reply_) {
      watching_ = false;
      held_session_.reset();
      held_responder_.reset();
      return write_reply();
    }
    if (ec) {
      watching_ = false;
      if (held_session_) held_session_->poll_aborted(held_responder_);
      held_session_.reset();
      held_responder_.reset();
      beast::error_code ignored;
      stream_.socket().close(ignored);
      return;
    }
    stream_.async_read_some(buffer_.prepare(1024),
                            beast::bind_front_handler(&http_session::on_watch, shared_from_this()));
  }

  void write_reply() {
    auto& r = *reply_;
    if (engine_) engine_->add_cors_headers(request_info_, r);
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->result(static_cast<unsigned>(r.status));
    res->version(11);
    if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->insert(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !r.close_connection);
    res->prepare_payload();
    if (head_ && res->body().size() > 0) {
      // A HEAD reply announces the GET's length but carries no body (RFC 9110 §9.3.2).
      auto length = res->body().size();
      res->body().clear();
      res->content_length(length);
    }
    // Not Modified carries no length (it would describe the cached body, RFC 9110 §15.4.5).
    if (r.status == 304) res->erase(bhttp::field::content_length);
    stream_.expires_after(write_timeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      self->on_write(ec, res->keep_alive());
    });
  }

  void on_write(beast::error_code ec, bool keep_alive) {
    if (ec) return;
    if (!keep_alive) return do_close();
    read_request();
  }

  void upgrade(bhttp::request<bhttp::string_body> req, eio::request_info info) {
    auto plan = engine_->check_websocket(info);
    if (auto* refusal = std::get_if<eio::http_reply>(&plan)) {
      // Refused before the 101 (Node only notices after it): plain text, then close.
      nlohmann::json body = nlohmann::json::parse(refusal->body, nullptr, false);
      std::string text =
        body.is_object() && body.contains("message") ? body["message"].get<std::string>() : std::string("Bad Request");
      reply_ = eio::http_reply{400, "text/html", std::move(text), {}, true};
      keep_alive_ = false;
      engine_ = nullptr;  // no CORS on WebSocket refusals
      return write_reply();
    }
    stream_.expires_never();
    auto conn = std::make_shared<ws_connection>(stream_.release_socket(), engine_->config().max_payload,
                                                engine_->config().max_send_queue, engine_->coalescer());
    conn->hold(std::move(slot_));  // the connection's slot moves with its socket
    conn->accept(std::move(req), [engine = engine_, plan = std::move(std::get<eio::engine::ws_plan>(plan))](
                                   const std::shared_ptr<ws_connection>& c) mutable {
      return engine->attach_websocket(std::move(plan), c);
    });
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const route_table& routes_;
  std::size_t max_body_;
  const http_limits& limits_;
  std::shared_ptr<connection_limits::slot> slot_;
  net::steady_timer header_timer_;
  bool header_timed_out_ = false;
  std::size_t handshakes_ = 0;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::uint64_t generation_ = 0;
  std::optional<eio::http_reply> reply_;
  eio::request_info request_info_;
  eio::engine* engine_ = nullptr;
  bool keep_alive_ = true;
  bool head_ = false;
  bool watching_ = false;
  eio::session_ptr held_session_;
  std::shared_ptr<request_responder> held_responder_;
};

// -- refusing a connection over the caps ----------------------------------------------------

// Reads the request of a connection that got no slot (under a short deadline) and
// answers it: a WebSocket upgrade is accepted and closed at once with 1013 "try again
// later" and the reason, anything else gets 503 with Retry-After. Either way the client
// learns why instead of hanging.
class refusal_session : public std::enable_shared_from_this<refusal_session> {
 public:
  refusal_session(tcp::socket&& socket, std::string reason) : stream_(std::move(socket)), reason_(std::move(reason)) {}

  void start() {
    parser_.header_limit(header_limit);
    parser_.body_limit(0);
    stream_.expires_after(std::chrono::seconds(5));
    bhttp::async_read_header(stream_, buffer_, parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->answer();
    });
  }

 private:
  void answer() {
    auto& req = parser_.get();
    if (beast::websocket::is_upgrade(req)) {
      auto ws = std::make_shared<beast::websocket::stream<beast::tcp_stream>>(std::move(stream_));
      ws->async_accept(req, [ws, reason = reason_](beast::error_code ec) {
        if (ec) return;
        ws->async_close(beast::websocket::close_reason(beast::websocket::close_code::try_again_later, reason),
                        [ws](beast::error_code) {});
      });
      return;
    }
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(bhttp::status::service_unavailable, 11);
    res->set(bhttp::field::content_type, "application/json");
    res->set(bhttp::field::retry_after, "5");
    res->body() = nlohmann::json{{"error", reason_}}.dump();
    res->keep_alive(false);
    res->prepare_payload();
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request_parser<bhttp::empty_body> parser_;
  std::string reason_;
};

// -- the listener ------------------------------------------------------------------------------

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  impl(net::io_context& ioc, route_table routes, std::size_t max_body, http_limits lim)
    : ioc(ioc),
      acceptor(net::make_strand(ioc)),
      routes(std::move(routes)),
      max_body(max_body),
      limits(lim),
      slots(std::make_shared<connection_limits>(lim.connections)),
      backoff_timer(acceptor.get_executor()) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
        return self->accept_failed(ec);
      }
      self->backoff = std::chrono::milliseconds(0);
      self->admit(std::move(socket));
      self->accept();
    });
  }

  void admit(tcp::socket socket) {
    beast::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    auto ep = socket.remote_endpoint(ec);
    const std::string address = ec ? std::string{} : ep.address().to_string();
    connection_limits::refusal why{};
    auto slot = slots->acquire(address, why);
    if (!slot) {
      const bool total = why == connection_limits::refusal::total;
      metrics::refused(total ? metrics::refusal::too_many_connections
                             : metrics::refusal::too_many_connections_per_address);
      note_refusal(total, address);
      std::make_shared<refusal_session>(std::move(socket),
                                        total ? "too many connections" : "too many connections from this address")
        ->start();
      return;
    }
    std::make_shared<http_session>(std::move(socket), routes, max_body, limits, std::move(slot))->start();
  }

  // Out of descriptors (EMFILE/ENFILE) or memory: accepting again at once fails again at
  // once (the probe saw 98% CPU and 71 MB of log per 5 s). Wait, doubling up to 1 s, log
  // once per interval with a count, and go on when accepts succeed again.
  void accept_failed(const beast::error_code& ec) {
    ++failed_accepts;
    metrics::refused(metrics::refusal::accept_failed);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_accept_log >= log_interval) {
      log::warn("accept failed ", failed_accepts, " time(s) in the last ",
                std::chrono::duration_cast<std::chrono::seconds>(log_interval).count(), " s: ", ec.message(), " (",
                slots->open(), " connections open); retrying with back-off");
      failed_accepts = 0;
      last_accept_log = now;
    }
    backoff = std::clamp(backoff * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    backoff_timer.expires_after(backoff);
    backoff_timer.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e && self->acceptor.is_open()) self->accept();
    });
  }

  // Refusals over the caps are logged at most once per interval, with a count.
  void note_refusal(bool total, const std::string& address) {
    ++refused_connections;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log < log_interval) return;
    log::info(
      "refused ", refused_connections, " connection(s) in the last ",
      std::chrono::duration_cast<std::chrono::seconds>(log_interval).count(), " s: ",
      total ? "--max-connections (" + std::to_string(slots->caps().max_total) + ")"
            : "--max-connections-per-address (" + std::to_string(slots->caps().max_per_address) + ", " + address + ")");
    refused_connections = 0;
    last_refusal_log = now;
  }

  static constexpr std::chrono::seconds log_interval{5};

  net::io_context& ioc;
  tcp::acceptor acceptor;
  route_table routes;
  std::size_t max_body;
  http_limits limits;
  std::shared_ptr<connection_limits> slots;
  // acceptor-strand only
  net::steady_timer backoff_timer;
  std::chrono::milliseconds backoff{0};
  std::uint64_t failed_accepts = 0;
  std::uint64_t refused_connections = 0;
  std::chrono::steady_clock::time_point last_accept_log{};
  std::chrono::steady_clock::time_point last_refusal_log{};
};

http_server::http_server(net::io_context& ioc, route_table routes, std::size_t max_body, http_limits limits)
  : impl_(std::make_shared<impl>(ioc, std::move(routes), max_body, limits)) {}

http_server::~http_server() = default;

void http_server::listen(const std::string& host, std::uint16_t port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("invalid --host '" + host + "': " + ec.message());
  tcp::endpoint ep(address, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol());
  a.set_option(net::socket_base::reuse_address(true));
  a.bind(ep, ec);
  if (ec) throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  a.listen(net::socket_base::max_listen_connections);
  impl_->accept();
}

std::uint16_t http_server::port() const { return impl_->acceptor.local_endpoint().port(); }

void http_server::stop_accepting() {
  net::post(impl_->acceptor.get_executor(), [i = impl_] {
    beast::error_code ec;
    i->acceptor.close(ec);
    i->backoff_timer.cancel();
  });
}

}  // namespace hub::http
