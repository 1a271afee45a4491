// The next layer under Beast's WebSocket stream: a TCP socket that also lets
// ws_connection write already-framed bytes straight to the socket (several queued
// frames in one write), and keeps those raw writes and Beast's own writes (handshake
// reply, pong, close frame) from overlapping: whichever starts second waits for the other.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <functional>
#include <memory>
#include <utility>

namespace hub::http {

class ws_stream {
 public:
  // A plain socket, not beast::tcp_stream: the WebSocket stream has its own timeouts,
  // and tcp_stream's timers would cost every idle connection a few hundred bytes. Its
  // executor is the strand's concrete type, not asio's type-erased any_executor, which
  // allocates whenever it is copied (several times per write).
  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
  using next_layer_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, strand_type>;
  using executor_type = strand_type;

  // Takes over an accepted socket (keeping its strand when it has one).
  explicit ws_stream(boost::asio::ip::tcp::socket&& socket) : next_(adopt(std::move(socket))) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  // Beast's writes: deferred while a raw write is in flight.
  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return boost::asio::async_initiate<WriteHandler, void(boost::system::error_code, std::size_t)>(
      [this](auto&& h, const ConstBufferSequence& b) {
        using H = std::decay_t<decltype(h)>;
        if (!raw_writing_) return start_beast_write(b, H(std::move(h)));
        deferred_ = make_deferred([this, b, h = H(std::move(h))]() mutable { start_beast_write(b, std::move(h)); });
      },
      handler, buffers);
  }

  // -- raw writes (ws_connection) -------------------------------------------------------
  bool beast_writing() const { return beast_writing_ > 0; }
  // Called when Beast's last write completes (so that a waiting raw write can go).
  // `owner` is kept alive across that call (it owns this stream).
  void on_beast_idle(std::weak_ptr<void> owner, std::function<void()> f) {
    owner_ = std::move(owner);
    on_idle_ = std::move(f);
  }

  // Precondition: !beast_writing(). Writes all of `buffers`.
  template <class ConstBufferSequence, class Handler>
  void async_write_raw(const ConstBufferSequence& buffers, Handler&& handler) {
    raw_writing_ = true;
    boost::asio::async_write(next_, buffers,
      [this, h = std::forward<Handler>(handler)](boost::system::error_code ec, std::size_t n) mutable {
        raw_writing_ = false;
        if (deferred_) std::exchange(deferred_, nullptr)->run();
        h(ec, n);
      });
  }

 private:
  struct deferred_base {
    virtual ~deferred_base() = default;
    virtual void run() = 0;
  };
  template <class F> struct deferred_impl final : deferred_base {
    F f;
    explicit deferred_impl(F&& fn) : f(std::move(fn)) {}
    void run() override { f(); }
  };
  template <class F> static std::unique_ptr<deferred_base> make_deferred(F&& f) {
    return std::make_unique<deferred_impl<std::decay_t<F>>>(std::forward<F>(f));
  }

  template <class ConstBufferSequence, class H>
  void start_beast_write(const ConstBufferSequence& b, H&& h) {
    ++beast_writing_;
    next_.async_write_some(b, [this, h = std::forward<H>(h)](boost::system::error_code ec, std::size_t n) mutable {
      auto keep = owner_.lock();
      --beast_writing_;
      h(ec, n);  // a composed write starts its next part from here
      if (beast_writing_ == 0 && on_idle_) on_idle_();
    });
  }

  static next_layer_type adopt(boost::asio::ip::tcp::socket&& socket) {
    auto ex = socket.get_executor();
    const strand_type* strand = ex.target<strand_type>();
    auto& ioc = static_cast<boost::asio::io_context&>(
      boost::asio::query(ex, boost::asio::execution::context));
    next_layer_type out(strand ? *strand : boost::asio::make_strand(ioc));
    boost::system::error_code ec;
    auto protocol = socket.local_endpoint(ec).protocol();
    auto fd = socket.release(ec);
    if (!ec) out.assign(protocol, fd, ec);
    return out;
  }

  next_layer_type next_;
  bool raw_writing_ = false;
  int beast_writing_ = 0;
  std::unique_ptr<deferred_base> deferred_;
  std::weak_ptr<void> owner_;
  std::function<void()> on_idle_;
};

// Beast closes the socket below through these when the WebSocket closes.
inline void teardown(boost::beast::role_type role, ws_stream& s, boost::system::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, ws_stream& s, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace hub::http
