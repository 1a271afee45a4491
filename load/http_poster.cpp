#include "load/http_poster.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <netinet/in.h>

#include <deque>
#include <optional>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace hub::load {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class poster_impl final : public http_poster, public std::enable_shared_from_this<poster_impl> {
 public:
  poster_impl(net::io_context& io, const target& t, std::uint32_t local, std::string auth)
    : io_(io), target_(t), local_(local), auth_(std::move(auth)), endpoint_(net::ip::make_address_v4(t.host), t.port) {}

  void post(std::string path, std::string body, done_fn done) override {
    queue_.push_back({std::move(path), std::move(body), std::move(done)});
    if (!busy_) next();
  }

  std::size_t pending() const override { return queue_.size(); }

 private:
  struct job {
    std::string path, body;
    done_fn done;
  };

  void next() {
    if (queue_.empty()) {
      busy_ = false;
      return;
    }
    busy_ = true;
    if (!stream_) return connect();
    auto& j = queue_.front();
    req_ = {http::verb::post, j.path, 11};
    req_.set(http::field::host, target_.host);
    req_.set(http::field::content_type, "application/json");
    if (!auth_.empty()) req_.set(http::field::authorization, auth_);
    req_.keep_alive(true);
    req_.body() = j.body;
    req_.prepare_payload();
    stream_->expires_after(std::chrono::seconds(10));
    http::async_write(*stream_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->failed();
      self->res_ = {};
      http::async_read(*self->stream_, self->buf_, self->res_, [self](beast::error_code ec, std::size_t) {
        if (ec) return self->failed();
        auto done = std::move(self->queue_.front().done);
        self->queue_.pop_front();
        bool keep = self->res_.keep_alive();
        if (done) done(self->res_.result_int());
        if (!keep) self->stream_.reset();
        self->next();
      });
    });
  }

  void connect() {
    tcp::socket s(io_);
    boost::system::error_code open_ec;
    s.open(tcp::v4(), open_ec);
    if (open_ec) return net::post(io_, [self = shared_from_this()] { self->failed(); });
    int one = 1;
    ::setsockopt(s.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    boost::system::error_code ec;
    s.bind(tcp::endpoint(net::ip::address_v4(local_), 0), ec);
    s.set_option(tcp::no_delay(true), ec);
    stream_.emplace(std::move(s));
    stream_->expires_after(std::chrono::seconds(10));
    stream_->async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->failed();
      self->next();
    });
  }

  void failed() {
    stream_.reset();
    buf_.clear();
    auto done = std::move(queue_.front().done);
    queue_.pop_front();
    if (done) done(0);
    next();
  }

  net::io_context& io_;
  target target_;
  std::uint32_t local_;
  std::string auth_;
  tcp::endpoint endpoint_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  std::deque<job> queue_;
  bool busy_ = false;
};

}  // namespace

std::shared_ptr<http_poster> http_poster::make(net::io_context& io, const target& t, std::uint32_t local_address,
                                               std::string authorization) {
  return std::make_shared<poster_impl>(io, t, local_address, std::move(authorization));
}

}  // namespace hub::load
