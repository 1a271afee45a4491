#include "net/http/http_server.hpp"

#include "net/http/ws_connection.hpp"
#include "util/log.hpp"
#include "util/url.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

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
constexpr std::chrono::seconds idle_timeout{60};       // keep-alive connection with no request
constexpr std::chrono::seconds write_timeout{30};

bool path_matches(std::string_view path, const std::string& prefix) {
  if (path.rfind(prefix, 0) == 0) return true;
  // "/socket.io" without the trailing slash.
  return !prefix.empty() && prefix.back() == '/' && path == std::string_view(prefix).substr(0, prefix.size() - 1);
}

}  // namespace

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    auto eq = part.find('=');
    if (!part.empty()) {
      if (eq == std::string_view::npos) out[url_decode(part, true)] = "";
      else out[url_decode(part.substr(0, eq), true)] = url_decode(part.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// -- one HTTP connection ------------------------------------------------------------------

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, const route_table& routes, std::size_t max_body)
    : stream_(std::move(socket)), routes_(routes), max_body_(max_body) {}

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

  // Completes the request in progress (called through request_responder, any thread).
  void complete(std::uint64_t generation, eio::http_reply reply) {
    net::post(stream_.get_executor(), [self = shared_from_this(), generation,
                                       reply = std::move(reply)]() mutable {
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

  void read_request() {
    head_ = false;
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(max_body_);
    stream_.expires_after(idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&http_session::on_read, shared_from_this()));
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
    if (ec) return;  // timeout or reset: drop the connection
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
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
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
      std::string text = body.is_object() && body.contains("message") ? body["message"].get<std::string>()
                                                                      : std::string("Bad Request");
      reply_ = eio::http_reply{400, "text/html", std::move(text), {}, true};
      keep_alive_ = false;
      engine_ = nullptr;  // no CORS on WebSocket refusals
      return write_reply();
    }
    stream_.expires_never();
    auto conn = std::make_shared<ws_connection>(stream_.release_socket(), engine_->config().max_payload,
                                                engine_->config().max_send_queue, engine_->coalescer());
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

// -- the listener ------------------------------------------------------------------------------

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  impl(net::io_context& ioc, route_table routes, std::size_t max_body)
    : ioc(ioc), acceptor(net::make_strand(ioc)), routes(std::move(routes)), max_body(max_body) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](
                                                   beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
        log::warn("accept: ", ec.message());  // e.g. out of file descriptors: keep going
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<http_session>(std::move(socket), self->routes, self->max_body)->start();
      }
      self->accept();
    });
  }

  net::io_context& ioc;
  tcp::acceptor acceptor;
  route_table routes;
  std::size_t max_body;
};

http_server::http_server(net::io_context& ioc, route_table routes, std::size_t max_body)
  : impl_(std::make_shared<impl>(ioc, std::move(routes), max_body)) {}

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
  if (ec)
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  a.listen(net::socket_base::max_listen_connections);
  impl_->accept();
}

std::uint16_t http_server::port() const { return impl_->acceptor.local_endpoint().port(); }

void http_server::stop_accepting() {
  net::post(impl_->acceptor.get_executor(), [i = impl_] {
    beast::error_code ec;
    i->acceptor.close(ec);
  });
}

}  // namespace hub::http
