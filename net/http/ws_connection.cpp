#include "net/http/ws_connection.hpp"

#include "util/log.hpp"
#include "util/metrics.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <chrono>
#include <utility>

#include <sys/socket.h>

namespace hub::http {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using boost::system::error_code;

namespace {

// Reads go into one buffer per thread; a connection keeps only what it cannot parse yet.
constexpr std::size_t scratch_bytes = 64 * 1024;
// Reads per wake-up before other sockets on this thread get their turn.
constexpr int reads_per_wake = 4;
// One write carries at most this many bytes of frames (at least one packet).
constexpr std::size_t max_write_bytes = 256 * 1024;
// A write buffer larger than this is released after the write, so that an idle
// connection does not keep a burst's buffer.
constexpr std::size_t keep_buffer_bytes = 8 * 1024;
// Larger packets always go through the strand's queue (no write-through copy).
constexpr std::size_t max_write_through_bytes = 64 * 1024;
// How long the client has to answer our close frame (or hang up) before we do.
constexpr auto close_wait = std::chrono::seconds(2);

char* read_scratch() {
  thread_local std::unique_ptr<char[]> buffer(new char[scratch_bytes]);
  return buffer.get();
}

// A data frame whose payload is the concatenation of `parts` (a shared packet body with
// a recipient's insert spliced in).
template <class... Parts>
void append_data_frame(std::string& out, bool binary, const Parts&... parts) {
  ws::append_header(out, binary ? ws::opcode::binary : ws::opcode::text, (std::string_view(parts).size() + ...));
  (out.append(std::string_view(parts)), ...);
}

std::size_t item_bytes(const outbound& p, const std::string& text) { return p.packet ? p.byte_size() : text.size(); }

// Takes over an accepted socket, on its strand when it has one.
template <class Socket>
Socket adopt(net::ip::tcp::socket&& socket) {
  using strand_type = typename Socket::executor_type;
  auto ex = socket.get_executor();
  const strand_type* strand = ex.target<strand_type>();
  auto& ioc = static_cast<net::io_context&>(net::query(ex, net::execution::context));
  Socket out(strand ? *strand : net::make_strand(ioc));
  error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  auto fd = socket.release(ec);
  if (!ec) out.assign(protocol, fd, ec);
  return out;
}

}  // namespace

ws_connection::ws_connection(net::ip::tcp::socket&& socket, std::size_t max_message, std::size_t max_queue,
                             eio::write_coalescer& coalescer)
  : socket_(adopt<socket_type>(std::move(socket))),
    parser_(max_message),
    max_queue_(max_queue),
    coalescer_(coalescer) {}

void ws_connection::accept(beast::http::request<beast::http::string_body> req, attach_fn attach) {
  handshake_ = std::make_unique<websocket::stream<socket_type&>>(socket_);
  // permessage-deflate stays off (Beast's default): frames with RSV bits are refused.
  // Only the handshake's timeout: Engine.IO has its own heartbeat.
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.keep_alive_pings = false;
  timeouts.idle_timeout = websocket::stream_base::none();
  handshake_->set_option(timeouts);
  handshake_->set_option(websocket::stream_base::decorator(
    [](websocket::response_type& res) { res.set(beast::http::field::server, "project-hub-realtime"); }));
  auto r = std::make_shared<beast::http::request<beast::http::string_body>>(std::move(req));
  handshake_->async_accept(*r, [self = shared_from_this(), r, attach = std::move(attach)](error_code ec) {
    // Dropped after its own handler has returned.
    net::post(self->socket_.get_executor(), [self] { self->handshake_.reset(); });
    if (ec) return;
    error_code ignored;
    self->socket_.non_blocking(true, ignored);  // reads stop at would_block
    {
      std::lock_guard lock(self->inbox_mutex_);
      self->quiet_ = true;  // the 101 is written: senders may write through from now on
    }
    self->session_ = attach(self);
    self->wait_read();
    self->read_available();  // what the client sent before the wait was registered
  });
}

// -- reading ----------------------------------------------------------------------------------

// No read is pending while idle, only a wait: the bytes go to the thread's buffer.
void ws_connection::wait_read() {
  socket_.async_wait(net::socket_base::wait_read,
                     [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
}

void ws_connection::on_readable(error_code ec) {
  if (closed_ || read_done_) return;
  if (ec) return shut();
  // The next wait goes in before the reads: asio's reactor is edge-triggered and does
  // not look at the socket when a wait starts, so bytes that arrive between our last
  // read and a later wait would wake nobody. A wake-up may find nothing (one read).
  wait_read();
  read_available();
}

void ws_connection::pause_reading(bool paused) {
  net::post(socket_.get_executor(), [self = shared_from_this(), paused] {
    self->read_paused_ = paused;
    // Unread bytes wait in the kernel (the client's TCP window fills and it slows
    // down); a wake-up meanwhile reads nothing. Resuming reads what is there.
    if (!paused) self->read_available();
  });
}

void ws_connection::read_available() {
  if (closed_ || read_done_ || read_paused_) return;
  char* scratch = read_scratch();
  for (int i = 0; i < reads_per_wake; ++i) {
    error_code ec;
    std::size_t n = socket_.read_some(net::buffer(scratch, scratch_bytes), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) return;
    if (ec) {  // EOF or reset
      if (!close_in_write_) return shut();
      peer_closed_ = read_done_ = true;  // our close frame is on its way: the socket closes after it
      return start_close_timer();
    }
    on_bytes(scratch, n);
    if (closed_) return;
  }
  // More may be waiting; other sockets on this thread go first.
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->read_available(); });
}

void ws_connection::on_bytes(char* data, std::size_t size) {
  while (size > 0 && !closed_) {
    ws::event e = parser_.next(data, size);
    switch (e.kind) {
      case ws::event::none:
      case ws::event::pong: break;
      case ws::event::message:
        // After our close frame the client's messages have nowhere to go.
        if (!close_queued_) session_->ws_frame(shared_from_this(), e.binary, std::move(e.data));
        break;
      case ws::event::ping:
        if (close_queued_) break;
        ws::append_frame(control_, ws::opcode::pong, e.data);
        if (control_.size() > max_queue_) return drop_slow_reader();  // pings faster than it reads our pongs
        if (!writing_) write_next();
        break;
      case ws::event::close: on_peer_close(e.code); break;
      case ws::event::error:
        if (e.code == ws::close_code::too_big)
          log::debug("websocket message over maxPayload");
        else
          log::debug("websocket protocol error: ", e.what);
        report(close_reason::transport_close);
        if (close_sent_)
          shut();  // no answer to our close frame to wait for
        else if (!close_queued_)
          send_close(e.code);  // the rest it sends is read and dropped
        break;
    }
  }
}

void ws_connection::on_peer_close(std::uint16_t code) {
  peer_closed_ = true;
  report(close_reason::transport_close);
  if (close_sent_) return shut();                                        // it answered ours
  if (!close_queued_) send_close(code ? code : ws::close_code::normal);  // echo it
  // The socket closes once the close frame is written (on_write).
}

// -- writing ----------------------------------------------------------------------------------

void ws_connection::append_frames(std::string& out, const item& it) {
  if (!it.packet.packet) return append_data_frame(out, false, it.text);
  const outbound& o = it.packet;
  if (!o.packet->text.empty()) append_data_frame(out, false, o.text_head(), o.insert, o.text_tail());
  for (const auto& b : o.packet->binaries) append_data_frame(out, true, b);
}

void ws_connection::send(outbound packet) { deliver(item{std::move(packet), {}}); }

void ws_connection::send_text(std::string text) { deliver(item{{}, std::move(text)}); }

void ws_connection::deliver(item it) {
  {
    std::lock_guard lock(inbox_mutex_);
    if (quiet_ && inbox_.empty() && !flush_requested_ && item_bytes(it.packet, it.text) <= max_write_through_bytes &&
        coalescer_.write_through()) {
      if (write_through(it)) return;
      // The socket took part of it (or failed): the strand takes over from here.
      quiet_ = false;
    } else {
      inbox_.push_back(std::move(it));
      if (flush_requested_) return;
    }
    flush_requested_ = true;
  }
  coalescer_.request_flush(shared_from_this());
}

bool ws_connection::write_through(const item& it) {
  // Under inbox_mutex_, with nothing queued or in flight: the strand starts no write and
  // closes no socket while we hold it, so this frame goes out whole and in order.
  thread_local std::string frames;
  frames.clear();
  append_frames(frames, it);
  std::size_t done = 0;
  while (done < frames.size()) {
    auto n = ::send(socket_.native_handle(), frames.data() + done, frames.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;  // the socket's buffer is full: the strand writes the rest when it drains
    } else {
      write_failed_ = true;
      break;
    }
  }
  metrics::add(metrics::global().ws_writes_through);
  bool whole = done == frames.size();
  if (!whole) {
    metrics::add(metrics::global().ws_write_through_rest);
    if (!write_failed_) carry_.assign(frames, done, std::string::npos);
  }
  if (frames.capacity() > max_write_through_bytes * 2) std::string().swap(frames);
  return whole;
}

void ws_connection::flush() {
  net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->drain_inbox(); });
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
  {
    std::lock_guard lock(inbox_mutex_);
    close_requested_ = true;
    quiet_ = false;  // nothing writes through past this point
  }
  // Through the inbox's order: packets sent before close() still go out first.
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    self->drain_inbox();
    if (self->closing_ || self->close_queued_ || self->closed_) return;
    self->closing_ = true;
    // Bounded even when the client reads nothing, so the queue ahead of our close
    // frame never drains.
    self->start_close_timer();
    if (!self->writing_) self->write_next();
  });
}

void ws_connection::send_close(std::uint16_t code, std::string_view reason) {
  // What the current write carries stays; the rest of the queue is dropped.
  std::size_t keep = writing_ ? in_flight_ : 0;
  for (std::size_t i = keep; i < queue_.size(); ++i) queued_bytes_ -= item_bytes(queue_[i].packet, queue_[i].text);
  queue_.resize(keep);
  if (reason.empty())
    ws::append_close(control_, code);
  else
    ws::append_close(control_, code, reason);
  close_queued_ = true;
  start_close_timer();  // a client that reads nothing must not keep the write going
  if (!writing_) write_next();
}

void ws_connection::start_close_timer() {
  if (close_timer_) return;
  close_timer_ = std::make_unique<net::steady_timer>(socket_.get_executor(), close_wait);
  close_timer_->async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->shut();
  });
}

void ws_connection::push(item it) {
  if (closing_ || close_queued_ || closed_) return;
  queued_bytes_ += item_bytes(it.packet, it.text);
  queue_.push_back(std::move(it));
  if (queued_bytes_ > max_queue_) drop_slow_reader();
}

void ws_connection::write_next() {
  writing_ = false;
  if (closed_) return;
  out_.clear();
  in_flight_ = 0;
  bool failed = false;
  {
    // The tail of a frame a sender wrote through comes before anything else.
    std::lock_guard lock(inbox_mutex_);
    out_.swap(carry_);
    quiet_ = false;
    failed = std::exchange(write_failed_, false);
  }
  if (failed) return fail("transport error");
  // Control frames next: they may pass queued data, but never split a write's frames.
  out_.append(control_);
  std::string().swap(control_);
  close_in_write_ = close_queued_ && !close_sent_;
  if (!close_queued_) {
    for (const item& it : queue_) {
      if (in_flight_ > 0 && out_.size() + item_bytes(it.packet, it.text) > max_write_bytes) break;
      append_frames(out_, it);
      ++in_flight_;
    }
    if (closing_ && in_flight_ == queue_.size()) {
      ws::append_close(out_, ws::close_code::normal);
      close_queued_ = close_in_write_ = true;
    }
  }
  if (out_.empty()) {
    // Idle again: hold no buffers (an idle connection would keep them for hours).
    std::vector<item>().swap(queue_);
    std::string().swap(out_);
    std::lock_guard lock(inbox_mutex_);
    quiet_ = !close_requested_ && !closing_ && !close_queued_ && !closed_;
    return;
  }
  writing_ = true;
  net::async_write(socket_, net::buffer(out_),
                   [self = shared_from_this()](error_code ec, std::size_t n) { self->on_write(ec, n); });
}

void ws_connection::on_write(error_code ec, std::size_t) {
  writing_ = false;
  if (closed_) return std::string().swap(out_);
  if (ec) return fail("transport error");
  std::size_t done = std::min(in_flight_, queue_.size());
  for (std::size_t i = 0; i < done; ++i) queued_bytes_ -= item_bytes(queue_[i].packet, queue_[i].text);
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(done));
  in_flight_ = 0;
  if (out_.capacity() > keep_buffer_bytes) std::string().swap(out_);
  if (!close_in_write_) return write_next();
  close_sent_ = true;
  close_in_write_ = false;
  std::vector<item>().swap(queue_);
  std::string().swap(out_);
  if (peer_closed_) return shut();
  start_close_timer();  // for the client's close frame or EOF; reads go on meanwhile
}

// -- the end --------------------------------------------------------------------------------

void ws_connection::fail(const std::string& reason) {
  if (closed_) return;
  log::debug("websocket dropped: ", reason);
  report(close_reason::transport_error);
  shut();
}

// The client reads more slowly than it is sent to: the queue is dropped and the client
// told why in a close frame (it goes ahead of the dropped data; the close timer bounds
// the wait when the client reads nothing at all).
void ws_connection::drop_slow_reader() {
  if (closed_ || close_queued_) return;
  metrics::refused(metrics::refusal::slow_reader);
  log::info("websocket dropped: send queue over ", max_queue_, " bytes (the client reads too slowly)");
  report(close_reason::transport_error);
  std::string().swap(control_);  // pongs it did not read either
  send_close(ws::close_code::try_again_later, "send queue full: the client reads too slowly");
}

void ws_connection::shut() {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard lock(inbox_mutex_);  // waits for a write-through in progress
    quiet_ = false;
    std::string().swap(carry_);
  }
  close_timer_.reset();  // cancels its wait
  queue_.clear();
  queued_bytes_ = 0;
  in_flight_ = 0;
  std::vector<item>().swap(queue_);
  std::string().swap(control_);
  if (!writing_) std::string().swap(out_);  // else the write in flight still reads it
  error_code ec;
  socket_.shutdown(net::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  report(close_reason::transport_close);
}

void ws_connection::report(close_reason why) {
  if (reported_ || !session_) return;
  reported_ = true;
  session_->ws_closed(shared_from_this(), why);
}

}  // namespace hub::http
