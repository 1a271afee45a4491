#include "load/client.hpp"

#include "protocol/engineio_packet.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <deque>
#include <optional>
#include <vector>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace hub::load {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A TCP socket bound to `local` (port chosen at connect time, so that each source
// address has its own ephemeral port range per destination). On failure (EMFILE) the
// socket is left closed and `ec` set.
tcp::socket bound_socket(net::io_context& io, std::uint32_t local, boost::system::error_code& ec) {
  tcp::socket s(io);
  s.open(tcp::v4(), ec);
  if (ec) return s;
  int one = 1;
  ::setsockopt(s.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  boost::system::error_code ignored;
  s.bind(tcp::endpoint(net::ip::address_v4(local), 0), ignored);  // best effort
  return s;
}

class client_impl final : public client, public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(net::io_context& io, const target& t, transport tr, std::string auth, std::uint32_t local,
              client_listener* listener, std::size_t index)
    : client(index),
      io_(io),
      target_(t),
      transport_(tr),
      auth_(std::move(auth)),
      local_(local),
      listener_(listener),
      endpoint_(net::ip::make_address_v4(t.host), t.port) {}

  void start() override {
    // Always posted: a failure at once must not call the listener from inside its own call.
    net::post(io_, [self = shared_from_this()] {
      if (self->transport_ == transport::websocket)
        self->open_websocket(false);
      else
        self->open_polling();
    });
  }

  std::uint64_t emit(std::string_view args, bool want_ack) override {
    std::uint64_t id = want_ack ? next_ack_++ : 0;
    std::string frame = "42";
    if (want_ack) frame += std::to_string(id);
    frame.append(args);
    net::dispatch(io_, [self = shared_from_this(), f = std::move(frame)]() mutable { self->send_eio(std::move(f)); });
    return id;
  }

  void drop() override {
    net::dispatch(io_, [self = shared_from_this()] { self->finish("dropped"); });
  }

  void close() override {
    net::dispatch(io_, [self = shared_from_this()] {
      if (self->closed_) return;
      self->send_eio("41");
      self->send_eio("1");
      self->polite_ = true;
    });
  }

 private:
  // -- common ---------------------------------------------------------------------------
  bool ws_active() const { return transport_ == transport::websocket || upgraded_; }

  void send_eio(std::string frame) {
    if (closed_) return;
    if (ws_active()) {
      ws_out_.push_back(std::move(frame));
      if (!ws_writing_) ws_write_next();
    } else {
      post_out_.push_back(std::move(frame));
      if (!posting_ && post_ready_) post_next();
    }
  }

  void finish(std::string_view reason) {
    if (closed_) return;
    closed_ = true;
    connected_ = false;
    beast::error_code ec;
    if (ws_) beast::get_lowest_layer(*ws_).socket().close(ec);
    if (get_) get_->socket().close(ec);
    if (post_) post_->socket().close(ec);
    ws_out_.clear();
    post_out_.clear();
    listener_->on_closed(*this, reason);
  }

  void on_eio(const eio::packet& p) {
    switch (p.type) {
      case eio::packet_type::open: {
        auto j = nlohmann::json::parse(p.data, nullptr, false);
        if (j.is_object() && j.contains("sid") && j["sid"].is_string()) sid_ = j["sid"].get<std::string>();
        if (sid_.empty()) return finish("bad open packet");
        send_eio("40" + auth_);
        return;
      }
      case eio::packet_type::ping: return send_eio("3");
      case eio::packet_type::close: return finish(polite_ ? "closed" : "server close");
      case eio::packet_type::message: {
        if (p.binary) return;  // not expected in these scenarios
        auto r = decoder_.feed_text(p.data);
        if (auto* err = std::get_if<sio::decode_error>(&r)) return finish("parse error: " + err->reason);
        if (auto* sp = std::get_if<sio::packet>(&r)) on_sio(*sp);
        return;
      }
      default: return;  // pong, noop, upgrade
    }
  }

  void on_sio(const sio::packet& p) {
    switch (p.type) {
      case sio::packet_type::connect:
        connected_ = true;
        listener_->on_connected(*this);
        if (transport_ == transport::upgrade && !upgrade_started_) open_websocket(true);
        return;
      case sio::packet_type::event:
      case sio::packet_type::binary_event: return listener_->on_event(*this, p);
      case sio::packet_type::ack:
      case sio::packet_type::binary_ack: return listener_->on_ack(*this, p.id.value_or(0), p);
      case sio::packet_type::connect_error: return finish("connect_error " + p.data);
      case sio::packet_type::disconnect: return finish("server disconnect");
    }
  }

  // -- WebSocket ------------------------------------------------------------------------
  void open_websocket(bool probe) {
    upgrade_started_ = probe;
    boost::system::error_code ec;
    ws_.emplace(bound_socket(io_, local_, ec));
    if (ec) return finish("socket: " + ec.message());
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.keep_alive_pings = false;
    timeouts.idle_timeout = websocket::stream_base::none();
    ws_->set_option(timeouts);
    ws_->read_message_max(64 << 20);
    beast::get_lowest_layer(*ws_).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(*ws_).async_connect(endpoint_, [self = shared_from_this(), probe](beast::error_code ec) {
      if (self->closed_) return;
      if (ec) return self->finish("connect: " + ec.message());
      beast::get_lowest_layer(*self->ws_).expires_never();
      std::string path = self->target_.path + "?EIO=4&transport=websocket";
      if (probe) path += "&sid=" + self->sid_;
      self->ws_->async_handshake(self->target_.host, path, [self, probe](beast::error_code ec) {
        if (self->closed_) return;
        if (ec) return self->finish("ws handshake: " + ec.message());
        if (probe) {
          self->ws_probe_ = true;
          self->ws_out_.push_back("2probe");
          self->ws_write_next();
        }
        self->ws_read();
      });
    });
  }

  void ws_read() {
    ws_->async_read(rbuf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->closed_) return;
      if (ec) return self->finish(self->polite_ ? "closed" : "transport close");
      ++self->frames_;
      auto data = self->rbuf_.data();
      std::string_view text(static_cast<const char*>(data.data()), data.size());
      if (self->ws_probe_) {
        if (text == "3probe") {
          self->ws_probe_ = false;
          self->probe_answered_ = true;
          self->maybe_complete_upgrade();
        }
      } else if (self->ws_->got_text()) {
        if (auto p = eio::decode_text(text))
          self->on_eio(*p);
        else
          return self->finish("parse error");
      }
      self->rbuf_.consume(self->rbuf_.size());
      if (!self->closed_) self->ws_read();
    });
  }

  void ws_write_next() {
    if (ws_out_.empty() || closed_) {
      ws_writing_ = false;
      maybe_complete_upgrade();
      return;
    }
    ws_writing_ = true;
    ws_->text(true);
    ws_->async_write(net::buffer(ws_out_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->closed_) return;
      if (ec) return self->finish("write: " + ec.message());
      self->ws_out_.pop_front();
      self->ws_write_next();
    });
  }

  // Sends "5" once the probe is answered and neither a GET nor a POST is in flight (like
  // engine.io-client, which pauses polling first); later packets go over the WebSocket.
  void maybe_complete_upgrade() {
    if (!probe_answered_ || posting_ || get_inflight_ || ws_writing_ || upgraded_ || closed_) return;
    upgraded_ = true;
    ws_out_.push_back("5");
    for (auto& f : post_out_) ws_out_.push_back(std::move(f));
    post_out_.clear();
    ws_write_next();
  }

  // -- polling --------------------------------------------------------------------------
  std::string polling_path() const {
    std::string p = target_.path + "?EIO=4&transport=polling";
    if (!sid_.empty()) p += "&sid=" + sid_;
    return p;
  }

  void open_polling() {
    boost::system::error_code ec;
    get_.emplace(bound_socket(io_, local_, ec));
    if (ec) return finish("socket: " + ec.message());
    get_->expires_after(std::chrono::seconds(30));
    get_->async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
      if (self->closed_) return;
      if (ec) return self->finish("connect: " + ec.message());
      self->poll();  // the handshake is the first GET
    });
  }

  void poll() {
    if (closed_ || upgraded_ || probe_answered_) return maybe_complete_upgrade();
    get_inflight_ = true;
    get_req_ = {http::verb::get, polling_path(), 11};
    get_req_.set(http::field::host, target_.host);
    get_req_.keep_alive(true);
    get_->expires_after(std::chrono::seconds(90));
    http::async_write(*get_, get_req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->closed_) return;
      if (ec) return self->finish("poll write: " + ec.message());
      self->get_res_.emplace();
      self->get_res_->body_limit(64 << 20);
      http::async_read(*self->get_, self->get_buf_, *self->get_res_,
                       [self](beast::error_code ec, std::size_t) { self->on_poll(ec); });
    });
  }

  void on_poll(beast::error_code ec) {
    get_inflight_ = false;
    if (closed_ || upgraded_) return;  // the old transport's last answer is ignored
    if (ec) return finish("poll read: " + ec.message());
    auto res = get_res_->release();
    if (res.result() != http::status::ok) return finish("poll status " + std::to_string(res.result_int()));
    ++frames_;
    auto packets = eio::decode_payload(res.body());
    if (!packets) return finish("parse error");
    bool first = sid_.empty();
    for (auto& p : *packets) {
      if (first && p.type == eio::packet_type::open) {
        auto j = nlohmann::json::parse(p.data, nullptr, false);
        if (j.is_object() && j.contains("sid") && j["sid"].is_string()) sid_ = j["sid"].get<std::string>();
        if (sid_.empty()) return finish("bad open packet");
        open_post_channel();
        continue;
      }
      on_eio(p);
      if (closed_) return;
    }
    poll();
  }

  void open_post_channel() {
    boost::system::error_code ec;
    post_.emplace(bound_socket(io_, local_, ec));
    if (ec) return finish("socket: " + ec.message());
    post_->expires_after(std::chrono::seconds(30));
    post_out_.push_front("40" + auth_);
    post_->async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
      if (self->closed_) return;
      if (ec) return self->finish("connect: " + ec.message());
      self->post_ready_ = true;
      if (!self->posting_) self->post_next();
    });
  }

  void post_next() {
    if (closed_) return;
    if (post_out_.empty() || upgraded_) {
      posting_ = false;
      maybe_complete_upgrade();
      return;
    }
    posting_ = true;
    std::string body;
    for (auto& f : post_out_) {
      if (!body.empty()) body.push_back(eio::record_separator);
      body += f;
    }
    post_out_.clear();
    post_req_ = {http::verb::post, polling_path(), 11};
    post_req_.set(http::field::host, target_.host);
    post_req_.set(http::field::content_type, "text/plain;charset=UTF-8");
    post_req_.keep_alive(true);
    post_req_.body() = std::move(body);
    post_req_.prepare_payload();
    post_->expires_after(std::chrono::seconds(30));
    http::async_write(*post_, post_req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->closed_) return;
      if (ec) return self->finish("post write: " + ec.message());
      self->post_res_ = {};
      http::async_read(*self->post_, self->post_buf_, self->post_res_, [self](beast::error_code ec, std::size_t) {
        if (self->closed_) return;
        if (ec) return self->finish("post read: " + ec.message());
        if (self->post_res_.result() != http::status::ok)
          return self->finish("post status " + std::to_string(self->post_res_.result_int()));
        self->post_next();
      });
    });
  }

  net::io_context& io_;
  target target_;
  transport transport_;
  std::string auth_;
  std::uint32_t local_;
  client_listener* listener_;
  tcp::endpoint endpoint_;

  std::string sid_;
  sio::decoder decoder_;
  std::uint64_t next_ack_ = 1;
  bool closed_ = false;
  bool polite_ = false;

  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  beast::flat_buffer rbuf_;
  std::deque<std::string> ws_out_;
  bool ws_writing_ = false;
  bool ws_probe_ = false;
  bool probe_answered_ = false;
  bool upgrade_started_ = false;

  std::optional<beast::tcp_stream> get_, post_;
  beast::flat_buffer get_buf_, post_buf_;
  http::request<http::string_body> get_req_, post_req_;
  std::optional<http::response_parser<http::string_body>> get_res_;
  http::response<http::string_body> post_res_;
  std::deque<std::string> post_out_;
  bool posting_ = false;
  bool post_ready_ = false;
  bool get_inflight_ = false;
};

}  // namespace

std::shared_ptr<client> client::make(net::io_context& io, const target& t, transport tr, std::string auth_json,
                                     std::uint32_t local_address, client_listener* listener, std::size_t index) {
  return std::make_shared<client_impl>(io, t, tr, std::move(auth_json), local_address, listener, index);
}

}  // namespace hub::load
