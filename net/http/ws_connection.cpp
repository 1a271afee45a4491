#include "net/http/ws_connection.hpp"

#include "util/log.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace hub::http {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;

namespace {

// What the read pending on an idle connection holds ready (a ping's "3" fits).
constexpr std::size_t first_read_bytes = 64;
// One write carries at most this many bytes of frames (at least one packet).
constexpr std::size_t max_write_bytes = 256 * 1024;
// A write buffer larger than this is released after the write, so that an idle
// connection does not keep a burst's buffer.
constexpr std::size_t keep_buffer_bytes = 8 * 1024;

// Appends an unmasked, unfragmented server frame (RFC 6455 §5.2) whose payload is the
// concatenation of `parts` (a shared packet body with a recipient's insert spliced in).
template <class... Parts>
void append_frame(std::string& out, bool binary, const Parts&... parts) {
  char header[10];
  std::size_t n = 0;
  header[n++] = static_cast<char>(0x80 | (binary ? 0x2 : 0x1));
  std::uint64_t len = (std::string_view(parts).size() + ...);
  if (len < 126) {
    header[n++] = static_cast<char>(len);
  } else if (len <= 0xffff) {
    header[n++] = 126;
    header[n++] = static_cast<char>(len >> 8);
    header[n++] = static_cast<char>(len);
  } else {
    header[n++] = 127;
    for (int shift = 56; shift >= 0; shift -= 8) header[n++] = static_cast<char>(len >> shift);
  }
  out.append(header, n);
  (out.append(std::string_view(parts)), ...);
}

std::size_t item_bytes(const outbound& p, const std::string& text) {
  return p.packet ? p.byte_size() : text.size();
}

}  // namespace

ws_connection::ws_connection(net::ip::tcp::socket&& socket, std::size_t max_message,
                             std::size_t max_queue, eio::write_coalescer& coalescer)
  : ws_(std::move(socket)), max_queue_(max_queue), coalescer_(coalescer) {
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
    std::weak_ptr<ws_connection> weak = self;
    self->ws_.next_layer().on_beast_idle(weak, [c = self.get()] {
      if (c->waiting_for_beast_) {
        c->waiting_for_beast_ = false;
        c->write_next();
      }
    });
    self->session_ = attach(self);
    self->read();
  });
}

// The pending read of an idle connection prepares only `first_read_bytes` (Beast's
// async_read would prepare 1536); the rest of a longer message follows in further reads.
void ws_connection::read() {
  std::size_t limit = buffer_.size() == 0 ? first_read_bytes : 0;  // 0: no limit
  ws_.async_read_some(buffer_, limit, beast::bind_front_handler(&ws_connection::on_read, shared_from_this()));
}

void ws_connection::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    closed_ = true;
    if (ec == websocket::error::message_too_big) log::debug("websocket message over maxPayload");
    session_->ws_closed(shared_from_this(), "transport close");
    queue_.clear();
    queued_bytes_ = 0;
    return;
  }
  if (!ws_.is_message_done()) return read();
  std::string data = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  buffer_.shrink_to_fit();  // empty: frees it; the next read allocates first_read_bytes
  session_->ws_frame(shared_from_this(), ws_.got_binary(), std::move(data));
  read();
}

void ws_connection::send(outbound packet) { deliver(item{std::move(packet), {}}); }

void ws_connection::send_text(std::string text) { deliver(item{{}, std::move(text)}); }

void ws_connection::deliver(item it) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(std::move(it));
    if (flush_requested_) return;
    flush_requested_ = true;
  }
  coalescer_.request_flush(shared_from_this());
}

void ws_connection::flush() {
  net::dispatch(ws_.get_executor(), [self = shared_from_this()] { self->drain_inbox(); });
}

void ws_connection::drain_inbox() {
  // The batch is taken whole, buffer and all: an idle connection keeps no inbox
  // capacity (one small allocation per batch instead).
  std::vector<item> batch;
  {
    std::lock_guard lock(inbox_mutex_);
    batch.swap(inbox_);
    flush_requested_ = false;
  }
  for (auto& it : batch) push(std::move(it));
  if (!writing_) write_next();
}

void ws_connection::close() {
  // Through the inbox's order: packets sent before close() still go out first.
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    self->drain_inbox();
    if (self->closing_ || self->closed_) return;
    self->closing_ = true;
    if (!self->writing_) self->write_next();
  });
}

void ws_connection::push(item it) {
  if (closing_ || closed_) return;
  queued_bytes_ += item_bytes(it.packet, it.text);
  queue_.push_back(std::move(it));
  if (queued_bytes_ > max_queue_) fail("send queue overflow");
}

void ws_connection::write_next() {
  if (closed_) {
    writing_ = false;
    return;
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
  if (ws_.next_layer().beast_writing()) {  // a pong or the handshake reply: wait for it
    waiting_for_beast_ = true;
    return;
  }
  out_.clear();
  in_flight_ = 0;
  for (const item& it : queue_) {
    if (in_flight_ > 0 && out_.size() + item_bytes(it.packet, it.text) > max_write_bytes) break;
    if (!it.packet.packet) {
      append_frame(out_, false, it.text);
    } else {
      const outbound& o = it.packet;
      if (!o.packet->text.empty()) append_frame(out_, false, o.text_head(), o.insert, o.text_tail());
      for (const auto& b : o.packet->binaries) append_frame(out_, true, b);
    }
    ++in_flight_;
  }
  ws_.next_layer().async_write_raw(net::buffer(out_),
                                   beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
}

void ws_connection::on_write(beast::error_code ec, std::size_t) {
  if (ec) {
    writing_ = false;
    fail("transport error");
    return;
  }
  std::size_t done = std::min(in_flight_, queue_.size());
  for (std::size_t i = 0; i < done; ++i) queued_bytes_ -= item_bytes(queue_[i].packet, queue_[i].text);
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(done));
  in_flight_ = 0;
  if (queue_.empty()) {
    // Idle again: hold no buffers (an idle connection would keep them for hours).
    std::vector<item>().swap(queue_);
    std::string().swap(out_);
  } else if (out_.capacity() > keep_buffer_bytes) {
    std::string().swap(out_);
  }
  write_next();
}

void ws_connection::fail(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  log::debug("websocket dropped: ", reason);
  queue_.clear();
  queued_bytes_ = 0;
  in_flight_ = 0;
  beast::error_code ec;
  beast::get_lowest_layer(ws_).shutdown(net::ip::tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(ws_).close(ec);
  if (session_) session_->ws_closed(shared_from_this(), "transport error");
}

}  // namespace hub::http
