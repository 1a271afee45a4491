// A keep-alive HTTP/1.1 client that POSTs JSON bodies one after the other (the
// server-to-server side of the notify scenario).
#pragma once

#include "load/client.hpp"

#include <functional>
#include <memory>
#include <string>

namespace hub::load {

class http_poster {
 public:
  // `done` gets the HTTP status, or 0 when the request failed at the socket.
  using done_fn = std::function<void(int status)>;
  static std::shared_ptr<http_poster> make(boost::asio::io_context& io, const target& t, std::uint32_t local_address,
                                           std::string authorization);
  virtual ~http_poster() = default;
  virtual void post(std::string path, std::string body, done_fn done) = 0;
  virtual std::size_t pending() const = 0;
};

}  // namespace hub::load
