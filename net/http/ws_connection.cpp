#include "net/http/ws_connection.hpp"

#include "util/log.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace hub::http {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;

ws_connection::ws_connection(net::ip::tcp::socket&& socket, std::size_t max_message,
                             std::size_t max_queue)
  : ws_(std::move(socket)), max_queue_(max_queue) {
  ws_.read_message_max(max_message);  // larger frames are closed with 1009
  // Engine.IO has its own heartbeat; Beast's keep-alive pings would only add traffic.
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.keep_alive_pings = false;
  timeouts.idle_timeout = websocket::stream_base::none();
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "project-hub-realtime");
  }));
}

void ws_connection::accept(beast::http::request<beast::http::string_body> req, attach_fn attach) {
  auto r = std::make_shared<beast::http::request<beast::http::string_body>>(std::move(req));
  ws_.async_accept(*r, [self = shared_from_this(), r, attach = std::move(attach)](beast::error_code ec) {
    if (ec) return;
    self->session_ = attach(self);
    self->read();
  });
}

void ws_connection::read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&ws_connection::on_read, shared_from_this()));
}

void ws_connection::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    closed_ = true;
    if (ec == websocket::error::message_too_big) log::debug("websocket message over maxPayload");
    session_->ws_closed(shared_from_this(), "transport close");
    queue_.clear();
    return;
  }
  std::string data = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  session_->ws_frame(shared_from_this(), ws_.got_binary(), std::move(data));
  read();
}

void ws_connection::send(wire_packet_ptr packet) {
  net::dispatch(ws_.get_executor(), [self = shared_from_this(), p = std::move(packet)]() mutable {
    self->push(item{std::move(p), {}});
  });
}

void ws_connection::send_text(std::string text) {
  net::dispatch(ws_.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
    self->push(item{nullptr, std::move(t)});
  });
}

void ws_connection::close() {
  net::dispatch(ws_.get_executor(), [self = shared_from_this()] {
    if (self->closing_ || self->closed_) return;
    self->closing_ = true;
    if (!self->writing_) self->write_next();
  });
}

void ws_connection::push(item it) {
  if (closing_ || closed_) return;
  queued_bytes_ += it.packet ? it.packet->byte_size() : it.text.size();
  queue_.push_back(std::move(it));
  if (queued_bytes_ > max_queue_) return fail("send queue overflow");
  if (!writing_) write_next();
}

namespace {

std::size_t frame_count(const wire_packet& p) {
  return (p.text.empty() ? 0 : 1) + p.binaries.size();
}

}  // namespace

void ws_connection::write_next() {
  // Drop fully written items; frame_ indexes the next frame of the front item.
  while (!queue_.empty()) {
    const item& front = queue_.front();
    std::size_t frames = front.packet ? frame_count(*front.packet) : 1;
    if (frame_ < frames) break;
    queued_bytes_ -= front.packet ? front.packet->byte_size() : front.text.size();
    queue_.pop_front();
    frame_ = 0;
  }
  if (queue_.empty()) {
    writing_ = false;
    if (closing_ && !closed_) {
      closed_ = true;
      writing_ = true;
      ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {
        self->writing_ = false;
      });
    }
    return;
  }
  writing_ = true;
  const item& front = queue_.front();
  std::size_t index = frame_++;
  if (!front.packet) {
    ws_.text(true);
    ws_.async_write(net::buffer(front.text),
                    beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
    return;
  }
  const wire_packet& p = *front.packet;
  bool has_text = !p.text.empty();
  if (has_text && index == 0) {
    ws_.text(true);
    ws_.async_write(net::buffer(p.text),
                    beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
    return;
  }
  ws_.binary(true);
  ws_.async_write(net::buffer(p.binaries[index - (has_text ? 1 : 0)]),
                  beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
}

void ws_connection::on_write(beast::error_code ec, std::size_t) {
  if (ec) {
    writing_ = false;
    fail("transport error");
    return;
  }
  write_next();
}

void ws_connection::fail(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  log::debug("websocket dropped: ", reason);
  queue_.clear();
  queued_bytes_ = 0;
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(ws_).socket().close(ec);
  if (session_) session_->ws_closed(shared_from_this(), "transport error");
}

}  // namespace hub::http
