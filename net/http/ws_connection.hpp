// An Engine.IO WebSocket transport on Boost.Beast. Beast does the handshake, the reads
// and the close; the data frames are framed here and written straight to the socket,
// every frame queued for this socket in one write (so a busy socket costs one write()
// per batch, not one per packet). Senders on any thread put packets in a small locked
// inbox and ask the write coalescer for at most one flush, which drains the inbox on
// the strand (under load a little later, so more frames share a write). The queue is
// bounded in bytes; a
// broadcast's buffer is shared, never copied per socket until the write.
#pragma once

#include "net/http/ws_stream.hpp"
#include "net/transport/engine.hpp"
#include "net/transport/write_coalescer.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace hub::http {

class ws_connection : public eio::ws_link,
                      public eio::flushable,
                      public std::enable_shared_from_this<ws_connection> {
 public:
  using attach_fn = std::function<eio::session_ptr(const std::shared_ptr<ws_connection>&)>;

  ws_connection(boost::asio::ip::tcp::socket&& socket, std::size_t max_message,
                std::size_t max_queue, eio::write_coalescer& coalescer);

  // Completes the WebSocket handshake, then hands itself to the session `attach` picks.
  void accept(boost::beast::http::request<boost::beast::http::string_body> req, attach_fn attach);

  // -- eio::ws_link (any thread) ------------------------------------------------------
  void send(outbound packet) override;
  void send_text(std::string text) override;
  void close() override;

  // -- eio::flushable (a network thread, when the coalescer says so) ----------------------
  void flush() override;

 private:
  struct item {
    outbound packet;   // or, with no packet,
    std::string text;  // a control packet of our own
  };

  void read();
  void on_read(boost::beast::error_code ec, std::size_t n);
  void deliver(item it);  // from any thread, into the inbox
  void drain_inbox();
  void push(item it);
  void write_next();
  void on_write(boost::beast::error_code ec, std::size_t n);
  void fail(const std::string& reason);

  boost::beast::websocket::stream<ws_stream> ws_;
  boost::beast::flat_buffer buffer_;
  std::size_t max_queue_;
  eio::write_coalescer& coalescer_;
  eio::session_ptr session_;

  // inbox: filled by any thread, drained on the strand
  std::mutex inbox_mutex_;
  std::vector<item> inbox_;
  bool flush_requested_ = false;

  // strand-only
  std::vector<item> queue_;  // not a deque: libstdc++'s allocates 600 bytes up front
  std::size_t queued_bytes_ = 0;
  std::size_t in_flight_ = 0;  // items of queue_'s front that the current write carries
  std::string out_;            // the frames of the current write
  bool writing_ = false;
  bool waiting_for_beast_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace hub::http
