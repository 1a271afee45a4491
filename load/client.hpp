// One virtual Socket.IO client over a real socket: Engine.IO v4 handshake, heartbeat
// replies, the Socket.IO CONNECT with an auth payload, events and acks. Transports:
// WebSocket, HTTP long-polling, or polling upgraded to WebSocket. Runs on the
// io_context it is given (one strand-free thread per io_context).
#pragma once

#include "protocol/socketio_packet.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hub::load {

enum class transport { websocket, polling, upgrade };

struct target {
  std::string host = "127.0.0.1";  // IPv4 literal in 127.0.0.0/8
  std::uint16_t port = 3000;
  std::string path = "/socket.io/";
};

class client;

// What a client reports; all calls come from the client's io_context thread.
class client_listener {
 public:
  virtual ~client_listener() = default;
  virtual void on_connected(client& c) = 0;                    // Socket.IO CONNECT answered
  virtual void on_event(client& c, const sio::packet& p) = 0;  // an EVENT (raw JSON in p.data)
  virtual void on_ack(client& c, std::uint64_t id, const sio::packet& p) = 0;
  virtual void on_closed(client& c, std::string_view reason) = 0;  // once, after any failure
};

class client {
 public:
  // `local_address` is bound before connect (spreads source ports over 127/8).
  static std::shared_ptr<client> make(boost::asio::io_context& io, const target& t, transport tr, std::string auth_json,
                                      std::uint32_t local_address, client_listener* listener, std::size_t index);
  virtual ~client() = default;

  virtual void start() = 0;
  // Sends a Socket.IO EVENT whose array text is `args` ("[\"name\",...]"); returns the
  // ack id it carries when `want_ack`.
  virtual std::uint64_t emit(std::string_view args, bool want_ack) = 0;
  // Drops the connection without a goodbye (the server sees a transport error).
  virtual void drop() = 0;
  // Polite close: Socket.IO DISCONNECT then Engine.IO close.
  virtual void close() = 0;

  std::size_t index() const { return index_; }
  bool connected() const { return connected_; }
  bool upgraded() const { return upgraded_; }
  std::uint64_t frames_received() const { return frames_; }

  // Free for the scenario to use.
  std::uint64_t user_tag = 0;

 protected:
  explicit client(std::size_t index) : index_(index) {}
  std::size_t index_;
  bool connected_ = false;
  bool upgraded_ = false;
  std::uint64_t frames_ = 0;
};

}  // namespace hub::load
