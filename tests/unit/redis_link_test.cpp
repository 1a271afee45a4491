// The Redis link (net/redis/): URLs, the RESP codec, and the link against a real
// redis-server (tests/unit/support/redis_server.hpp), killed and restarted, and against a
// fake one that answers garbage.
#include "net/redis/redis_link.hpp"
#include "util/redis_url.hpp"
#include "net/redis/resp.hpp"
#include "tests/unit/support/redis_server.hpp"
#include "util/metrics.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using hub::redis::reply;
using hub::redis::reply_limits;
using hub::redis::reply_parser;

namespace {

// Polls `pred` until it holds or `timeout` passes; every wait in these tests is bounded.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// An io_context run by a thread of its own, as in hub-server. Declared before the links
// that use it, so that they go first.
struct io_thread {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~io_thread() {
    work.reset();
    io.stop();
    thread.join();
  }
};

struct recording_listener : hub::pubsub_listener {
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> messages;
  std::atomic<int> ups{0}, downs{0};
  std::atomic<bool> is_up{false};

  void on_message(const std::string& channel, std::string payload) override {
    std::lock_guard lock(mutex);
    messages.emplace_back(channel, std::move(payload));
  }
  void on_link(bool up) override {
    (up ? ups : downs)++;
    is_up = up;
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return messages.size();
  }
  std::vector<std::pair<std::string, std::string>> snapshot() {
    std::lock_guard lock(mutex);
    return messages;
  }
};

hub::redis_link_options options_for(const std::string& url) {
  std::string error;
  auto ep = hub::parse_redis_url(url, &error);
  REQUIRE(ep);
  hub::redis_link_options o;
  o.endpoint = *ep;
  o.min_backoff = 20ms;
  o.max_backoff = 200ms;
  o.connect_timeout = 1000ms;
  return o;
}

struct started_link {
  std::shared_ptr<hub::pubsub_link> link;
  std::shared_ptr<recording_listener> listener = std::make_shared<recording_listener>();
};

started_link start_link(boost::asio::io_context& io, hub::redis_link_options o, std::vector<std::string> channels,
                        std::vector<std::string> patterns = {}) {
  started_link s;
  s.link = hub::make_redis_link(io, std::move(o));
  s.link->subscribe(std::move(channels), std::move(patterns), s.listener);
  s.link->start();
  return s;
}

std::uint64_t counter(const std::atomic<std::uint64_t>& c) { return c.load(); }

std::vector<reply> parse_all(reply_parser& p, std::string_view bytes) {
  std::vector<reply> out;
  p.feed(bytes);
  while (auto r = p.next()) out.push_back(std::move(*r));
  return out;
}

}  // namespace

// -- URLs ---------------------------------------------------------------------------------------

TEST_CASE("redis url: host, port, credentials and database", "[redis]") {
  std::string error;
  auto ep = hub::parse_redis_url("redis://localhost", &error);
  REQUIRE(ep);
  CHECK(ep->host == "localhost");
  CHECK(ep->port == 6379);
  CHECK(ep->user.empty());
  CHECK(ep->password.empty());
  CHECK(ep->db == 0);

  ep = hub::parse_redis_url("redis://alice:s%40cr%2Ft%3A@10.0.0.7:6380/3", &error);
  REQUIRE(ep);
  CHECK(ep->user == "alice");
  CHECK(ep->password == "s@cr/t:");
  CHECK(ep->host == "10.0.0.7");
  CHECK(ep->port == 6380);
  CHECK(ep->db == 3);
  CHECK(ep->display() == "redis://alice@10.0.0.7:6380/3");  // never the password

  ep = hub::parse_redis_url("REDIS://:only-password@[::1]:7000/", &error);
  REQUIRE(ep);
  CHECK(ep->user.empty());
  CHECK(ep->password == "only-password");
  CHECK(ep->host == "::1");
  CHECK(ep->port == 7000);
  CHECK(ep->db == 0);
  CHECK(ep->display() == "redis://[::1]:7000");

  ep = hub::parse_redis_url("redis://[::1]", &error);
  REQUIRE(ep);
  CHECK(ep->host == "::1");
  CHECK(ep->port == 6379);
}

TEST_CASE("redis url: refusals say why", "[redis]") {
  auto why = [](std::string_view url) {
    std::string error;
    auto ep = hub::parse_redis_url(url, &error);
    CHECK_FALSE(ep);
    return error;
  };
  CHECK_THAT(why("rediss://host:6380"), Catch::Contains("TLS") && Catch::Contains("not supported"));
  CHECK_THAT(why("http://host"), Catch::Contains("only redis://"));
  CHECK_THAT(why("host:6379"), Catch::Contains("not a Redis URL"));
  CHECK_THAT(why("redis://"), Catch::Contains("no host"));
  CHECK_THAT(why("redis://host:0"), Catch::Contains("not a port"));
  CHECK_THAT(why("redis://host:65536"), Catch::Contains("not a port"));
  CHECK_THAT(why("redis://host:"), Catch::Contains("not a port"));
  CHECK_THAT(why("redis://host:12ab"), Catch::Contains("not a port"));
  CHECK_THAT(why("redis://host/x"), Catch::Contains("not a database"));
  CHECK_THAT(why("redis://host/-1"), Catch::Contains("not a database"));
  CHECK_THAT(why("redis://host/0?timeout=1"), Catch::Contains("query"));
  CHECK_THAT(why("redis://user@host"), Catch::Contains("without a password"));
  CHECK_THAT(why("redis://:pa%zzss@host"), Catch::Contains("%-escape"));
  CHECK_THAT(why("redis://:pa%4@host"), Catch::Contains("%-escape"));
  CHECK_THAT(why("redis://:p/w@host"), Catch::Contains("percent-encode"));
  CHECK_THAT(why("redis://[::1"), Catch::Contains("closing"));
  CHECK_THAT(why("redis://[nope]:6379"), Catch::Contains("IPv6"));
  CHECK_THAT(why("redis://::1:6379"), Catch::Contains("brackets"));
  CHECK_THAT(why("redis://ho st"), Catch::Contains("not a host"));
}

// -- RESP ---------------------------------------------------------------------------------------

TEST_CASE("resp: commands are binary-safe", "[redis]") {
  std::string payload("a\0b\r\nc", 6);
  auto cmd = hub::redis::format_command({"PUBLISH", "ch", payload});
  REQUIRE(cmd);
  static constexpr char wire[] = "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$6\r\na\0b\r\nc\r\n";
  CHECK(*cmd == std::string(wire, sizeof wire - 1));
  CHECK_FALSE(hub::redis::format_command(std::vector<std::string_view>{}));
}

TEST_CASE("resp: replies split at every byte come out whole and in order", "[redis]") {
  const std::string wire =
    "+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n$0\r\n\r\n"
    "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n*2\r\n:1\r\n*0\r\n";
  reply_parser p;
  std::vector<reply> got;
  for (char c : wire) {
    REQUIRE(p.feed(std::string_view(&c, 1)));
    while (auto r = p.next()) got.push_back(std::move(*r));
  }
  REQUIRE_FALSE(p.failed());
  REQUIRE(got.size() == 8);
  CHECK(got[0].describe() == "+OK");
  REQUIRE(got[1].error());
  CHECK(got[1].error()->message == "ERR wrong");
  REQUIRE(got[2].integer());
  CHECK(*got[2].integer() == -42);
  REQUIRE(got[3].bulk());
  CHECK(*got[3].bulk() == "he\r\no");
  CHECK(got[4].describe() == "$nil");
  CHECK(got[5].describe() == "$nil");
  REQUIRE(got[6].bulk());
  CHECK(got[6].bulk()->empty());
  CHECK(got[7].describe() == "[$message, $ch, [:1, []]]");
}

TEST_CASE("resp: garbage ends the parser with a clear error", "[redis]") {
  reply_parser p;
  auto got = parse_all(p, "+OK\r\n?what is this\r\n");
  CHECK(got.size() == 1);  // what came before the garbage
  REQUIRE(p.failed());
  CHECK_THAT(p.error(), Catch::Contains("protocol error") && Catch::Contains("?"));
  CHECK_FALSE(p.feed("+OK\r\n"));  // for good
  CHECK_FALSE(p.next());

  reply_parser bad_int;
  parse_all(bad_int, ":12x\r\n");
  CHECK_THAT(bad_int.error(), Catch::Contains("Bad integer"));

  reply_parser deep;
  std::string nested;
  for (int i = 0; i < 9; ++i) nested += "*1\r\n";
  parse_all(deep, nested);
  CHECK_THAT(deep.error(), Catch::Contains("nested"));
}

TEST_CASE("resp: oversized replies are refused before they are allocated", "[redis]") {
  reply_limits small{.max_reply_bytes = 1024, .max_elements = 100, .max_line_bytes = 256};

  SECTION("a bulk string over the reply bound, announced and partly sent") {
    reply_parser p(small);
    parse_all(p, "$100000000\r\n" + std::string(2000, 'x'));
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("larger than 1 KiB"));
  }
  SECTION("an array announcing more elements than the bound") {
    reply_parser p(small);
    parse_all(p, "*2000000000\r\n");
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("more than 100 elements"));
  }
  SECTION("nested arrays adding up past the element bound") {
    reply_parser p(small);
    std::string wire = "*3\r\n";
    for (int i = 0; i < 3; ++i) wire += "*40\r\n";
    parse_all(p, wire);
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("elements"));
  }
  SECTION("many small values adding up past the byte bound") {
    reply_parser p(small);
    std::string wire = "*90\r\n";
    for (int i = 0; i < 90; ++i) wire += "$20\r\n" + std::string(20, 'y') + "\r\n";
    parse_all(p, wire);
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("larger than"));
  }
  SECTION("a status line that never ends") {
    reply_parser p(small);
    parse_all(p, "+" + std::string(300, 'z'));
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("line longer than 256 bytes"));
  }
  SECTION("a bulk length that never ends") {
    reply_parser p(small);
    parse_all(p, "$" + std::string(40, '1'));
    REQUIRE(p.failed());
    CHECK_THAT(p.error(), Catch::Contains("length line"));
  }
  SECTION("within the bounds, one reply after another, is fine") {
    reply_parser p(small);
    for (int i = 0; i < 50; ++i) {
      auto got = parse_all(p, "$900\r\n" + std::string(900, 'k') + "\r\n");
      REQUIRE(got.size() == 1);
    }
    CHECK_FALSE(p.failed());
  }
}

// -- the link against a real Redis ------------------------------------------------------------

TEST_CASE("redis link: a publication comes back through Redis on a channel and on a pattern", "[redis]") {
  hub::test::redis_server redis;
  io_thread t;
  auto a = start_link(t.io, options_for(redis.url()), {"room#/"}, {"socket.io#/*"});
  auto b = start_link(t.io, options_for(redis.url()), {}, {});
  // up() turns true just before the listener hears it.
  REQUIRE(wait_until([&] { return a.link->up() && b.link->up() && a.listener->ups == 1; }));
  CHECK(a.link->describe() == "up");

  auto received_before = counter(hub::metrics::global().cluster_messages_received);
  b.link->publish("room#/", "to the channel");
  b.link->publish("socket.io#/#lobby#", std::string("binary\0payload", 14));
  b.link->publish("elsewhere", "nobody listens");
  REQUIRE(wait_until([&] { return a.listener->count() == 2; }));
  auto got = a.listener->snapshot();
  CHECK(got[0] == std::pair<std::string, std::string>("room#/", "to the channel"));
  CHECK(got[1] == std::pair<std::string, std::string>("socket.io#/#lobby#", std::string("binary\0payload", 14)));
  CHECK(counter(hub::metrics::global().cluster_messages_received) >= received_before + 2);
}

TEST_CASE("redis link: 10,000 pipelined publications all arrive, in order", "[redis]") {
  hub::test::redis_server redis;
  io_thread t;
  auto sub = start_link(t.io, options_for(redis.url()), {"bulk"});
  auto pub = start_link(t.io, options_for(redis.url()), {});
  REQUIRE(wait_until([&] { return sub.link->up() && pub.link->up(); }));
  auto lost_before = counter(hub::metrics::global().cluster_publications_lost);
  constexpr int n = 10000;
  for (int i = 0; i < n; ++i) pub.link->publish("bulk", std::to_string(i));
  REQUIRE(wait_until([&] { return sub.listener->count() == n; }, 10000ms));
  auto got = sub.listener->snapshot();
  bool in_order = true;
  for (int i = 0; i < n; ++i) in_order = in_order && got[i].second == std::to_string(i);
  CHECK(in_order);
  CHECK(counter(hub::metrics::global().cluster_publications_lost) == lost_before);
}

TEST_CASE("redis link: count_subscribers counts every node on the channel", "[redis]") {
  hub::test::redis_server redis;
  io_thread t;
  auto a = start_link(t.io, options_for(redis.url()), {"socket.io-request#/#"});
  auto b = start_link(t.io, options_for(redis.url()), {"socket.io-request#/#"});
  REQUIRE(wait_until([&] { return a.link->up() && b.link->up(); }));
  std::atomic<int> answered{0};
  std::optional<std::size_t> both, none;
  a.link->count_subscribers("socket.io-request#/#", [&](std::optional<std::size_t> n) {
    both = n;
    ++answered;
  });
  b.link->count_subscribers("no-such-channel", [&](std::optional<std::size_t> n) {
    none = n;
    ++answered;
  });
  REQUIRE(wait_until([&] { return answered == 2; }));
  CHECK(both == std::optional<std::size_t>(2));
  CHECK(none == std::optional<std::size_t>(0));
}

TEST_CASE("redis link: AUTH with the right password, a user and a database", "[redis]") {
  hub::test::redis_server redis({"--requirepass", "s3cret", "--user", "alice", "on", ">al!ce", "~*", "&*", "+@all"});
  io_thread t;
  auto by_password = start_link(t.io, options_for("redis://:s3cret@127.0.0.1:" + std::to_string(redis.port()) + "/3"),
                                {"c"});
  auto by_user = start_link(t.io, options_for("redis://alice:al%21ce@127.0.0.1:" + std::to_string(redis.port())), {});
  REQUIRE(wait_until([&] { return by_password.link->up() && by_user.link->up(); }));
  by_user.link->publish("c", "hello");
  REQUIRE(wait_until([&] { return by_password.listener->count() == 1; }));
}

TEST_CASE("redis link: a wrong password, or no such database, keeps it down and says why", "[redis]") {
  hub::test::redis_server redis({"--requirepass", "s3cret"});
  io_thread t;
  auto port = std::to_string(redis.port());
  auto wrong = start_link(t.io, options_for("redis://:wrong@127.0.0.1:" + port), {"c"});
  auto none = start_link(t.io, options_for("redis://127.0.0.1:" + port), {"c"});
  auto bad_db = start_link(t.io, options_for("redis://:s3cret@127.0.0.1:" + port + "/99"), {"c"});
  REQUIRE(wait_until([&] {
    return wrong.link->describe().find("AUTH") != std::string::npos &&
           none.link->describe().find("NOAUTH") != std::string::npos &&
           bad_db.link->describe().find("SELECT 99") != std::string::npos;
  }));
  CHECK_FALSE(wrong.link->up());
  CHECK_FALSE(none.link->up());
  CHECK_FALSE(bad_db.link->up());
  CHECK_THAT(wrong.link->describe(), Catch::StartsWith("down since ") && Catch::Contains("WRONGPASS") &&
                                       Catch::Contains("(retry in "));
  CHECK(wrong.listener->ups == 0);
  auto lost_before = counter(hub::metrics::global().cluster_publications_lost);
  wrong.link->publish("c", "nobody hears this");
  CHECK(counter(hub::metrics::global().cluster_publications_lost) == lost_before + 1);
  std::atomic<bool> answered{false};
  std::optional<std::size_t> n{42};
  wrong.link->count_subscribers("c", [&](std::optional<std::size_t> v) {
    n = v;
    answered = true;
  });
  REQUIRE(wait_until([&] { return answered.load(); }));
  CHECK_FALSE(n);
}

TEST_CASE("redis link: Redis killed and restarted: down, publications lost, then back and resubscribed",
          "[redis]") {
  hub::test::redis_server redis;
  io_thread t;
  auto sub = start_link(t.io, options_for(redis.url()), {"ch"}, {"pat*"});
  auto pub = start_link(t.io, options_for(redis.url()), {});
  REQUIRE(wait_until([&] { return sub.listener->ups == 1 && pub.listener->ups == 1; }));
  auto& m = hub::metrics::global();
  auto up_gauge = counter(m.redis_links_up);

  redis.kill();
  REQUIRE(wait_until([&] { return sub.listener->downs == 1 && pub.listener->downs == 1; }));
  CHECK_FALSE(sub.link->up());
  CHECK_FALSE(pub.link->up());
  CHECK(counter(m.redis_links_up) == up_gauge - 2);
  auto lost_before = counter(m.cluster_publications_lost);
  auto reconnects_before = counter(m.redis_reconnects);
  for (int i = 0; i < 5; ++i) pub.link->publish("ch", "into the void");
  CHECK(counter(m.cluster_publications_lost) == lost_before + 5);
  CHECK_THAT(pub.link->describe(), Catch::StartsWith("down since "));
  REQUIRE(wait_until([&] { return counter(m.redis_reconnects) >= reconnects_before + 2; }));

  redis.start();
  REQUIRE(wait_until([&] { return sub.listener->ups == 2 && pub.listener->ups == 2; }));
  CHECK(sub.link->up());
  CHECK(counter(m.redis_links_up) == up_gauge);
  pub.link->publish("ch", "after the restart");
  pub.link->publish("pattern-match", "also");
  REQUIRE(wait_until([&] { return sub.listener->count() == 2; }));
  auto got = sub.listener->snapshot();
  CHECK(got[0].second == "after the restart");
  CHECK(got[1].first == "pattern-match");
}

TEST_CASE("redis link: publications in flight when Redis dies are counted lost", "[redis]") {
  hub::test::redis_server redis;
  io_thread t;
  auto pub = start_link(t.io, options_for(redis.url()), {});
  REQUIRE(wait_until([&] { return pub.link->up(); }));
  auto& m = hub::metrics::global();
  auto published_before = counter(m.cluster_publications);
  auto lost_before = counter(m.cluster_publications_lost);
  // Big ones, so that some are still queued or unanswered when the process dies.
  std::string big(256 * 1024, 'x');
  for (int i = 0; i < 200; ++i) pub.link->publish("ch", big);
  redis.kill();
  REQUIRE(wait_until([&] { return !pub.link->up(); }));
  std::this_thread::sleep_for(50ms);  // the strand has handed out every publication
  CHECK(counter(m.cluster_publications) == published_before + 200);
  CHECK(counter(m.cluster_publications_lost) > lost_before);
}

TEST_CASE("redis link: publications over max_queued_bytes are counted lost, the rest delivered", "[redis]") {
  hub::test::redis_server redis;
  io_thread t;
  auto sub = start_link(t.io, options_for(redis.url()), {"ch"});
  auto o = options_for(redis.url());
  o.max_queued_bytes = 1 << 20;
  auto pub = start_link(t.io, o, {});
  REQUIRE(wait_until([&] { return sub.listener->ups == 1 && pub.listener->ups == 1; }));
  auto lost_before = counter(hub::metrics::global().cluster_publications_lost);
  std::string big(200 * 1024, 'q');
  constexpr int n = 50;  // 10 MB at once, ten times the bound
  for (int i = 0; i < n; ++i) pub.link->publish("ch", big);
  REQUIRE(wait_until([&] {
    auto lost = counter(hub::metrics::global().cluster_publications_lost) - lost_before;
    return lost > 0 && sub.listener->count() + lost == n;
  }));
  CHECK(sub.listener->count() >= 4);  // about the bound's worth got through
  CHECK(pub.link->up());
}

TEST_CASE("redis link: a Redis that goes silent (SIGSTOP) is noticed, and it comes back when thawed", "[redis]") {
  hub::test::redis_server redis;
  io_thread t;
  auto o = options_for(redis.url());
  o.ping_interval = 100ms;
  o.reply_timeout = 300ms;
  o.connect_timeout = 300ms;
  auto link = start_link(t.io, o, {"ch"});
  REQUIRE(wait_until([&] { return link.listener->ups == 1; }));
  redis.freeze();
  REQUIRE(wait_until([&] { return link.listener->downs == 1; }, 3000ms));
  CHECK_THAT(link.link->describe(), Catch::Contains("no reply from Redis") || Catch::Contains("timed out"));
  redis.thaw();
  REQUIRE(wait_until([&] { return link.listener->ups == 2; }));
  link.link->publish("ch", "thawed");
  REQUIRE(wait_until([&] { return link.listener->count() == 1; }));
}

TEST_CASE("redis link: a server that answers garbage is refused, retried, and nothing breaks", "[redis]") {
  // A plain TCP acceptor that answers whatever it is sent with bytes that are not RESP.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(listener, 16) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  std::atomic<int> accepted{0};
  std::atomic<bool> stop{false};
  std::thread fake([&] {
    std::vector<int> clients;
    while (!stop) {
      timeval tv{0, 20000};
      ::setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      int c = ::accept(listener, nullptr, nullptr);
      if (c >= 0) {
        ++accepted;
        ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        clients.push_back(c);
      }
      for (int fd : clients) {
        char buf[512];
        if (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) ::send(fd, "%garbage\r\n", 10, MSG_NOSIGNAL);
      }
    }
    for (int fd : clients) ::close(fd);
  });

  {
    io_thread t;
    auto reconnects_before = counter(hub::metrics::global().redis_reconnects);
    auto link = start_link(t.io, options_for("redis://127.0.0.1:" + std::to_string(ntohs(a.sin_port))), {"ch"});
    REQUIRE(wait_until([&] {
      return accepted >= 6 && link.link->describe().find("protocol error") != std::string::npos;
    }));
    CHECK_FALSE(link.link->up());
    CHECK(link.listener->ups == 0);
    CHECK_THAT(link.link->describe(), Catch::Contains("\"%\""));
    CHECK(counter(hub::metrics::global().redis_reconnects) >= reconnects_before + 2);
    link.link->publish("ch", "lost");
  }
  stop = true;
  fake.join();
  ::close(listener);
}

TEST_CASE("redis link: nothing is heard after the link is destroyed, even with its thread running", "[redis]") {
  hub::test::redis_server redis;
  io_thread t;
  auto doomed = start_link(t.io, options_for(redis.url()), {"ch"});
  auto pub = start_link(t.io, options_for(redis.url()), {});
  REQUIRE(wait_until([&] { return doomed.link->up() && pub.link->up(); }));
  auto up_gauge = counter(hub::metrics::global().redis_links_up);
  std::atomic<bool> answered{false};
  for (int i = 0; i < 100; ++i) pub.link->publish("ch", "racing the destructor");
  doomed.link->count_subscribers("ch", [&](std::optional<std::size_t>) { answered = true; });
  doomed.link.reset();
  auto heard = doomed.listener->count();
  CHECK(counter(hub::metrics::global().redis_links_up) == up_gauge - 1);
  for (int i = 0; i < 100; ++i) pub.link->publish("ch", "after");
  std::this_thread::sleep_for(200ms);
  CHECK(doomed.listener->count() == heard);
  CHECK(doomed.listener->downs == 0);
  (void)answered;  // either way: it raced the destructor, and returned before it
}

TEST_CASE("redis link: destroyed before start, or after io stopped, it leaves nothing behind", "[redis]") {
  {
    boost::asio::io_context io;
    auto link = hub::make_redis_link(io, options_for("redis://127.0.0.1:1"));
    CHECK(link->describe() == "down: not started");
  }
  {
    boost::asio::io_context io;
    auto link = hub::make_redis_link(io, options_for("redis://127.0.0.1:1"));
    link->start();
    io.run_for(100ms);  // refused, a retry scheduled
    CHECK_THAT(link->describe(), Catch::Contains("could not connect"));
    io.stop();
    link.reset();  // its cleanup is queued on the stopped io_context, and goes with it
  }
}
