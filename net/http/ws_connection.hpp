// An Engine.IO WebSocket transport. Beast does only the HTTP upgrade handshake; its
// stream is then dropped and the socket is read and written here, because Beast's stream
// cost every idle connection ~3 KB (an inline read buffer, a timer, saved handlers, the
// pending read). Reads wait until the socket is readable, read into a per-thread buffer
// and parse the frames there (protocol/ws_frame), so an idle connection holds no read
// buffer; only an unfinished frame or message keeps bytes.
//
// While the server is not busy (the write coalescer holds nothing back) and this socket
// has nothing queued or in flight, a sender writes its frame itself, on its own thread
// (a CAF worker): no hand-off to the network thread and no wake-up of it. Whatever the
// socket does not take goes to the strand, which writes it before anything else.
//
// Otherwise data frames are framed here, every frame queued for this socket in one write (so a
// busy socket costs one write() per batch, not one per packet). Pongs and close frames
// go ahead of queued data at the next write, never inside one. Senders on any thread put
// packets in a small locked inbox and ask the write coalescer for at most one flush,
// which drains the inbox on the strand (under load a little later, so more frames share
// a write). The queue is bounded in bytes; a broadcast's buffer is shared, never copied
// per socket until the write.
#pragma once

#include "protocol/ws_frame.hpp"
#include "net/transport/engine.hpp"
#include "net/transport/write_coalescer.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace hub::http {

class ws_connection : public eio::ws_link, public eio::flushable, public std::enable_shared_from_this<ws_connection> {
 public:
  using attach_fn = std::function<eio::session_ptr(const std::shared_ptr<ws_connection>&)>;

  ws_connection(boost::asio::ip::tcp::socket&& socket, std::size_t max_message, std::size_t max_queue,
                eio::write_coalescer& coalescer);

  // Completes the WebSocket handshake, then hands itself to the session `attach` picks.
  void accept(boost::beast::http::request<boost::beast::http::string_body> req, attach_fn attach);

  // -- eio::ws_link (any thread) ------------------------------------------------------
  void send(outbound packet) override;
  void send_text(std::string text) override;
  void close() override;
  void pause_reading(bool paused) override;

  // Keeps `token` (the connection's slot in connection_limits) for as long as this lives.
  void hold(std::shared_ptr<void> token) { slot_ = std::move(token); }

  // -- eio::flushable (a network thread, when the coalescer says so) ----------------------
  void flush() override;

 private:
  // The strand's concrete type, not asio's type-erased any_executor, which allocates
  // whenever it is copied (several times per write).
  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
  using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, strand_type>;

  struct item {
    outbound packet;   // or, with no packet,
    std::string text;  // a control packet of our own
  };

  void wait_read();
  void on_readable(boost::system::error_code ec);  // the wait's completion
  void read_available();                           // reads until would_block (bounded)
  void on_bytes(char* data, std::size_t size);
  void on_peer_close(std::uint16_t code);
  void send_close(std::uint16_t code, std::string_view reason = {});  // ahead of queued data, which is dropped
  void drop_slow_reader();                                            // over --max-send-queue: close 1013 with a reason
  void start_close_timer();
  void deliver(item it);               // from any thread: written through, or into the inbox
  bool write_through(const item& it);  // under inbox_mutex_; false: carry_ or write_failed_ set
  static void append_frames(std::string& out, const item& it);
  void drain_inbox();
  void push(item it);
  void write_next();
  void on_write(boost::system::error_code ec, std::size_t n);
  void fail(const std::string& reason);
  void shut();                    // closes the socket; the session hears of it
  void report(close_reason why);  // tells the session, once

  socket_type socket_;
  std::shared_ptr<void> slot_;
  // Only during the handshake: it reads and writes through `socket_`.
  std::unique_ptr<boost::beast::websocket::stream<socket_type&>> handshake_;
  ws::frame_parser parser_;
  std::size_t max_queue_;
  eio::write_coalescer& coalescer_;
  eio::session_ptr session_;

  // inbox: filled by any thread, drained on the strand
  std::mutex inbox_mutex_;
  std::vector<item> inbox_;
  bool flush_requested_ = false;
  // Write-through (also under inbox_mutex_): while the server is not busy and the strand
  // has nothing to write, a sender writes its frame on its own thread, with no hand-off to
  // the network thread. The strand clears `quiet_` before each write it starts.
  bool quiet_ = false;
  bool close_requested_ = false;
  bool write_failed_ = false;
  std::string carry_;  // what the socket did not take of a written-through frame

  // strand-only
  std::vector<item> queue_;  // not a deque: libstdc++'s allocates 600 bytes up front
  std::size_t queued_bytes_ = 0;
  std::size_t in_flight_ = 0;  // items of queue_'s front that the current write carries
  std::string out_;            // the frames of the current write
  std::string control_;        // pongs and our close frame, for the start of the next write
  // Only while closing: how long the client gets to answer our close frame (and a
  // close frame gets to be written when the client already closed or broke the rules).
  std::unique_ptr<boost::asio::steady_timer> close_timer_;
  bool writing_ = false;
  bool closing_ = false;         // close() was called: a close frame after the queue
  bool close_queued_ = false;    // our close frame is in control_ or out_: nothing after it
  bool close_in_write_ = false;  // ...in the current write
  bool close_sent_ = false;
  bool peer_closed_ = false;  // the client's close frame (or EOF) arrived
  bool read_done_ = false;    // EOF: nothing more to read
  bool read_paused_ = false;  // backpressure: the session's actor is behind
  bool reported_ = false;
  bool closed_ = false;  // the socket is closed
};

}  // namespace hub::http
