#include "net/transport/write_coalescer.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <thread>
#include <vector>

using hub::eio::flushable;
using hub::eio::write_coalescer;
using namespace std::chrono_literals;

namespace {

struct counting_socket : flushable {
  std::vector<int>* order = nullptr;
  int id = 0;
  int flushes = 0;
  std::thread::id flushed_on;
  void flush() override {
    ++flushes;
    flushed_on = std::this_thread::get_id();
    if (order) order->push_back(id);
  }
};

}  // namespace

TEST_CASE("write coalescer: the wait follows the load in 1 ms steps, within bounds", "[transport]") {
  auto next = [](std::chrono::microseconds d, double u) { return write_coalescer::next_delay(d, u, 20ms); };
  CHECK(next(0us, 0.85) == 0us);  // moderately busy: no wait starts
  CHECK(next(0us, 0.95) == 1ms);  // busy: it grows
  CHECK(next(5ms, 0.95) == 6ms);
  CHECK(next(20ms, 1.00) == 20ms);  // never beyond the maximum
  CHECK(next(5ms, 0.87) == 5ms);    // between the thresholds: held
  CHECK(next(8ms, 0.80) == 4ms);    // calmer: it halves (an fsync's system time must not hold it)
  CHECK(next(2ms, 0.60) == 0us);    // down to a step: gone
  CHECK(next(500us, 0.50) == 0us);
  CHECK(next(15ms, 0.10) == 0us);                            // nearly idle: no wait at all
  CHECK(write_coalescer::next_delay(5ms, 1.0, 0ms) == 0us);  // turned off
}

TEST_CASE("write coalescer: requests made together are flushed in one pass, in order", "[transport]") {
  boost::asio::io_context ioc;
  write_coalescer c(ioc, 20ms);
  std::vector<int> order;
  std::vector<std::shared_ptr<counting_socket>> sockets;
  for (int i = 0; i < 5; ++i) {
    auto s = std::make_shared<counting_socket>();
    s->order = &order;
    s->id = i;
    sockets.push_back(s);
  }
  // From another thread, as the actors do, before the network thread runs.
  std::thread producer([&] {
    for (auto& s : sockets) c.request_flush(s);
  });
  producer.join();
  CHECK(order.empty());  // nothing runs on the producer's thread
  std::size_t handlers = ioc.run();
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(handlers == 1);  // one pass for all five
  for (auto& s : sockets) CHECK(s->flushed_on == std::this_thread::get_id());
  CHECK(c.current_delay() == 0us);  // a test process is not busy

  // A later request gets a pass of its own.
  ioc.restart();
  c.request_flush(sockets[2]);
  CHECK(ioc.run() == 1);
  CHECK(sockets[2]->flushes == 2);
  CHECK(sockets[0]->flushes == 1);
}
