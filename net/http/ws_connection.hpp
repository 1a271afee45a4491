// An Engine.IO WebSocket transport on Boost.Beast: one strand, one write at a time, a
// bounded queue of shared packets (a broadcast's buffer is never copied per socket).
#pragma once

#include "net/transport/engine.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <functional>
#include <memory>

namespace hub::http {

class ws_connection : public eio::ws_link, public std::enable_shared_from_this<ws_connection> {
 public:
  using attach_fn = std::function<eio::session_ptr(const std::shared_ptr<ws_connection>&)>;

  ws_connection(boost::asio::ip::tcp::socket&& socket, std::size_t max_message,
                std::size_t max_queue);

  // Completes the WebSocket handshake, then hands itself to the session `attach` picks.
  void accept(boost::beast::http::request<boost::beast::http::string_body> req, attach_fn attach);

  // -- eio::ws_link (any thread) ------------------------------------------------------
  void send(wire_packet_ptr packet) override;
  void send_text(std::string text) override;
  void close() override;

 private:
  struct item {
    wire_packet_ptr packet;  // or
    std::string text;        // a control packet of our own
  };

  void read();
  void on_read(boost::beast::error_code ec, std::size_t n);
  void push(item it);
  void write_next();
  void on_write(boost::beast::error_code ec, std::size_t n);
  void fail(const std::string& reason);

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  std::size_t max_queue_;
  eio::session_ptr session_;
  std::deque<item> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t frame_ = 0;  // next frame of queue_.front(): 0 = text, 1.. = binaries
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace hub::http
