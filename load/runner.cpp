#include "load/runner.hpp"

#include "load/client.hpp"
#include "load/http_poster.hpp"
#include "load/jwt.hpp"
#include "load/proc_stats.hpp"
#include "load/progress.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace hub::load {
namespace {

namespace net = boost::asio;
using clock = std::chrono::steady_clock;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count());
}

// µs of `d`, saturated at what a uint32 holds (71 minutes).
std::uint32_t micros_u32(clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, std::numeric_limits<std::uint32_t>::max()));
}

// Reads the decimal number at `pos` in `s`; advances pos past it.
bool read_number(std::string_view s, std::size_t& pos, std::uint64_t& v) {
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), v);
  if (ec != std::errc()) return false;
  pos = static_cast<std::size_t>(p - s.data());
  return true;
}

// "<marker><gid>:<t_ns>:" somewhere in the event's raw JSON.
bool find_stamp(std::string_view data, std::string_view marker, std::uint64_t& gid, std::uint64_t& t) {
  auto pos = data.find(marker);
  if (pos == std::string_view::npos) return false;
  pos += marker.size();
  if (!read_number(data, pos, gid) || pos >= data.size() || data[pos] != ':') return false;
  ++pos;
  return read_number(data, pos, t);
}

struct bits {
  std::vector<std::uint64_t> w;
  void resize(std::size_t n) { w.resize((n + 63) / 64, 0); }
  bool test(std::size_t i) const { return i / 64 < w.size() && (w[i / 64] >> (i % 64)) & 1; }
  void set(std::size_t i) {
    if (i / 64 >= w.size()) w.resize(i / 64 + 1, 0);
    w[i / 64] |= std::uint64_t{1} << (i % 64);
  }
  void reset(std::size_t i) {
    if (i / 64 < w.size()) w[i / 64] &= ~(std::uint64_t{1} << (i % 64));
  }
  std::size_t count() const {
    std::size_t n = 0;
    for (auto x : w) n += static_cast<std::size_t>(std::popcount(x));
    return n;
  }
};

struct client_state {
  std::shared_ptr<client> c;
  std::string user;
  std::size_t room = 0, slot = 0;
  std::size_t server = 0;  // index into options::servers
  bool sends = true;       // --senders-url
  std::uint64_t join_ack = 0;
  std::uint32_t connect_us = 0;  // start to the CONNECT answer (first connect only)
  bool connected = false, joined = false, closed = false;
  bool dropped_by_us = false;
  clock::time_point started, dropped_at;
  std::uint64_t room_sent_at_drop = 0;
  std::unordered_map<std::uint64_t, std::uint64_t> pending_sends;  // ack id -> message gid
};

struct room_state {
  bits present;
  std::size_t size = 0;
  std::uint64_t sent = 0;
};

struct tracked {
  std::uint32_t room;
  std::uint32_t sender = 0;
  bool acked = false;
  std::uint32_t expected_n;
  std::uint32_t got_n = 0;
  bits expected, got;
};

class runner final : public client_listener {
 public:
  explicit runner(const options& o) : o_(o) {}

  run_result go();

  // -- client_listener (io threads) -----------------------------------------------------
  void on_connected(client& c) override {
    std::lock_guard lock(m_);
    auto& st = states_[c.index()];
    if (st.c.get() != &c) return;
    st.connected = true;
    ++connected_now_;
    res_.connected = std::max(res_.connected, connected_now_);
    if (!st.dropped_by_us) {
      st.connect_us = micros_u32(clock::now() - st.started);
      res_.connect_latency.record(st.connect_us);
      if (!wants_rooms()) note_ready(st);
    }
    if (wants_rooms()) {
      std::string args = "[\"join-chat-room\"," + nlohmann::json(room_id(st.room)).dump() + "]";
      st.join_ack = c.emit(args, true);
    }
  }

  void on_event(client& c, const sio::packet& p) override {
    std::string_view d = p.data;
    std::uint64_t gid = 0, t = 0;
    if (d.rfind("[\"new-message\"", 0) == 0) {
      if (!find_stamp(d, "\"content\":\"L", gid, t)) return;
      std::uint64_t lat = (now_ns() - t) / 1000;
      std::lock_guard lock(m_);
      auto& st = states_[c.index()];
      if (st.c.get() != &c) return;
      auto it = tracked_.find(gid);
      if (it == tracked_.end()) {
        ++late_or_unexpected_;
        return;
      }
      auto& tr = it->second;
      if (!tr.expected.test(st.slot)) return;  // joined after it was sent
      if (tr.got.test(st.slot)) {
        ++win_.duplicated;
        return;
      }
      tr.got.set(st.slot);
      record_delivery(lat);
      if (multi_) {
        bool cross = server_key_[st.server] != server_key_[states_[tr.sender].server];
        (cross ? win_.cross_latency : win_.local_latency).record(lat);
        if (cross) ++win_.cross_delivered;
      }
      if (++tr.got_n == tr.expected_n) tracked_.erase(it);
    } else if (d.rfind("[\"notification\"", 0) == 0) {
      if (!find_stamp(d, "\"message\":\"N", gid, t)) return;
      std::uint64_t lat = (now_ns() - t) / 1000;
      std::lock_guard lock(m_);
      auto it = notes_.find(gid);
      if (it == notes_.end() || it->second != c.index()) {
        ++win_.duplicated;
        return;
      }
      notes_.erase(it);
      record_delivery(lat);
    }
  }

  void on_ack(client& c, std::uint64_t id, const sio::packet& p) override {
    bool ok = p.data.rfind("[{\"ok\":true", 0) == 0;
    std::lock_guard lock(m_);
    auto& st = states_[c.index()];
    if (st.c.get() != &c) return;
    if (id == st.join_ack && !st.joined) {
      if (!ok) {
        ++res_.close_reasons["join refused: " + p.data.substr(0, 80)];
        return;
      }
      st.joined = true;
      ++joined_now_;
      rooms_[st.room].present.set(st.slot);
      if (st.dropped_by_us) {
        st.dropped_by_us = false;
        ++res_.storm_reconnected;
        res_.storm_reconnect.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - st.dropped_at).count()));
        res_.storm_missed += rooms_[st.room].sent - st.room_sent_at_drop;
      } else {
        note_ready(st);
      }
      return;
    }
    if (auto ps = st.pending_sends.find(id); ps != st.pending_sends.end()) {
      if (auto t = tracked_.find(ps->second); t != tracked_.end()) t->second.acked = true;
      st.pending_sends.erase(ps);
    }
    if (ok)
      ++win_.acked_ok;
    else {
      ++win_.acked_error;
      if (res_.close_reasons.size() < 20) ++res_.close_reasons["ack error: " + p.data.substr(0, 80)];
    }
  }

  void on_closed(client& c, std::string_view reason) override {
    std::lock_guard lock(m_);
    auto& st = states_[c.index()];
    if (st.c.get() != &c) return;
    if (st.connected) --connected_now_;
    if (st.joined) {
      --joined_now_;
      rooms_[st.room].present.reset(st.slot);
    }
    bool was_connected = st.connected;
    st.connected = st.joined = false;
    // Messages this connection sent that the server never acknowledged died with it
    // (a real client would send them again): not counted as lost deliveries.
    for (auto& [ack, gid] : st.pending_sends) {
      auto t = tracked_.find(gid);
      if (t == tracked_.end() || t->second.got_n > 0) continue;
      ++res_.unsent_with_dropped;
      tracked_.erase(t);
    }
    st.pending_sends.clear();
    if (st.dropped_by_us) {  // storm: reconnect at once as the same user
      st.c = client::make(*ios_[c.index() % ios_.size()], o_.servers[st.server], o_.tr, auth_for(c.index()),
                          local_address(c.index()), this, c.index());
      st.c->start();
      return;
    }
    st.closed = true;
    if (!was_connected)
      ++res_.connect_failures;
    else if (!stopping_)
      ++win_.disconnects;
    if (!stopping_) ++res_.close_reasons[std::string(reason.substr(0, 100))];
  }

 private:
  bool wants_rooms() const { return o_.what == scenario::chat || o_.what == scenario::storm; }
  std::string room_id(std::size_t r) const { return o_.user_prefix + "-room-" + std::to_string(r); }
  std::string user_id(std::size_t i) const { return o_.user_prefix + "-u" + std::to_string(i); }

  std::string auth_for(std::size_t i) const {
    std::string user = user_id(i);
    if (!o_.jwt_secret.empty()) {
      std::vector<std::string> projects;
      if (wants_rooms()) projects.push_back(room_id(i % o_.rooms));
      return nlohmann::json{{"token", mint_jwt(o_.jwt_secret, user, user, projects, std::chrono::hours(2))}}.dump();
    }
    return nlohmann::json{{"userId", user}, {"userName", user}}.dump();
  }

  // 127.0.1.1 .. 127.0.1.250, then 127.0.2.x, ...: spreads ephemeral ports.
  static std::uint32_t local_address(std::size_t i) {
    std::uint32_t a = 127u << 24;
    return a | static_cast<std::uint32_t>(((1 + i / 250 % 200) << 8) | (1 + i % 250));
  }

  // A client is ready for the first time (under m_): one point of the connect rate.
  void note_ready(const client_state& st) {
    if (!connecting_) return;
    auto now = clock::now();
    res_.ready.push_back(
      {std::chrono::duration<double>(now - connect_start_).count(), st.connect_us, micros_u32(now - st.started)});
  }

  void record_delivery(std::uint64_t lat_us) {
    ++win_.delivered;
    win_.latency.record(lat_us);
    auto sec = static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::seconds>(clock::now() - t0_).count());
    if (sec >= res_.per_second.size()) res_.per_second.resize(sec + 1);
    res_.per_second[sec].record(lat_us);
  }

  bool timed_out() const { return clock::now() - t0_ > o_.max_run; }

  // A /proc reading summed over every --server-pid (nullopt unless each could be read):
  // the servers' CPU time (µs) or RSS (bytes).
  template <class Read>
  std::optional<std::uint64_t> sum_over_servers(Read read) const {
    if (o_.server_pids.empty()) return std::nullopt;
    std::uint64_t sum = 0;
    for (int pid : o_.server_pids) {
      auto v = read(pid);
      if (!v) return std::nullopt;
      sum += *v;
    }
    return sum;
  }
  std::optional<std::uint64_t> servers_cpu_us() const { return sum_over_servers(process_cpu_us); }
  std::optional<std::uint64_t> servers_rss() const { return sum_over_servers(rss_bytes); }

  void connect_all();
  void send_for(double rate, std::chrono::milliseconds d, bool measure);
  void drain();
  void begin_window(double rate);
  window_result end_window();
  void storm();
  void progress_tick(const char* phase);
  void wait(std::chrono::milliseconds d, const char* phase);

  const options& o_;
  std::mutex m_;
  std::vector<std::unique_ptr<net::io_context>> ios_;
  std::vector<client_state> states_;
  std::vector<room_state> rooms_;
  std::unordered_map<std::uint64_t, tracked> tracked_;
  std::unordered_map<std::uint64_t, std::size_t> notes_;  // notification gid -> client
  std::vector<std::shared_ptr<http_poster>> posters_;
  std::size_t connected_now_ = 0, joined_now_ = 0;
  std::uint64_t late_or_unexpected_ = 0;
  std::uint64_t next_gid_ = 1;
  std::size_t next_sender_ = 0;
  bool multi_ = false;                   // more than one distinct server
  std::vector<std::size_t> server_key_;  // servers[i] -> index of its first equal entry
  bool stopping_ = false;
  bool connecting_ = false;  // connect_all() runs: ready clients are noted
  clock::time_point connect_start_;
  clock::time_point t0_ = clock::now();
  clock::time_point win_start_;
  std::uint64_t win_server_cpu_ = 0, win_client_cpu_ = 0, win_frames_ = 0;
  bool win_has_server_cpu_ = false;
  window_result win_;
  run_result res_;
  progress_line progress_;
};

void runner::progress_tick(const char* phase) {
  if (!o_.progress) return;
  std::lock_guard lock(m_);
  progress_.update(phase, clock::now() - t0_, connected_now_, o_.clients, win_.sent, win_.delivered,
                   win_.latency.quantile(0.99), win_.disconnects + res_.connect_failures);
}

void runner::wait(std::chrono::milliseconds d, const char* phase) {
  auto until = clock::now() + d;
  while (clock::now() < until && !timed_out()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    progress_tick(phase);
  }
}

void runner::connect_all() {
  auto start = clock::now();
  {
    std::lock_guard lock(m_);
    connect_start_ = start;
    connecting_ = true;
    res_.ready.reserve(o_.clients);
  }
  std::size_t next = 0;
  while (!timed_out() && clock::now() - start < o_.connect_timeout) {
    std::size_t done = 0, inflight = 0;
    {
      std::lock_guard lock(m_);
      std::size_t ready = wants_rooms() ? joined_now_ : connected_now_;
      done = ready + res_.connect_failures;
      inflight = next - done;
      while (next < o_.clients && inflight < o_.connect_concurrency) {
        auto& st = states_[next];
        st.started = clock::now();
        st.c = client::make(*ios_[next % ios_.size()], o_.servers[st.server], o_.tr, auth_for(next),
                            local_address(next), this, next);
        st.c->start();
        ++next;
        ++inflight;
      }
    }
    if (done >= o_.clients) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    static thread_local int n = 0;
    if (++n % 50 == 0) progress_tick("connect");
  }
  res_.connect_seconds = std::chrono::duration<double>(clock::now() - start).count();
  std::lock_guard lock(m_);
  connecting_ = false;
}

void runner::begin_window(double rate) {
  std::lock_guard lock(m_);
  win_ = window_result{};
  win_.rate = rate;
  win_start_ = clock::now();
  win_client_cpu_ = self_cpu_us();
  win_frames_ = 0;
  for (auto& st : states_)
    if (st.c) win_frames_ += st.c->frames_received();
  win_has_server_cpu_ = false;
  if (auto cpu = servers_cpu_us()) {
    win_server_cpu_ = *cpu;
    win_has_server_cpu_ = true;
  }
}

window_result runner::end_window() {
  std::lock_guard lock(m_);
  window_result w = std::move(win_);
  win_ = window_result{};
  w.seconds = std::chrono::duration<double>(clock::now() - win_start_).count();
  w.client_cpu_us = self_cpu_us() - win_client_cpu_;
  std::uint64_t frames = 0;
  for (auto& st : states_)
    if (st.c) frames += st.c->frames_received();
  w.client_frames = frames - win_frames_;
  if (win_has_server_cpu_)
    if (auto cpu = servers_cpu_us()) w.server_cpu_us = *cpu - win_server_cpu_;
  for (auto& [gid, tr] : tracked_) w.lost += tr.expected_n - tr.got_n;
  tracked_.clear();
  w.lost += notes_.size();
  notes_.clear();
  return w;
}

// Paces messages (or notifications) from this thread; the emits run on the io threads.
void runner::send_for(double rate, std::chrono::milliseconds d, bool measure) {
  (void)measure;
  auto start = clock::now();
  std::uint64_t sent = 0;
  std::string pad;
  auto last_progress = start;
  while (!timed_out()) {
    auto now = clock::now();
    if (now - start >= d) break;
    auto due = static_cast<std::uint64_t>(rate * std::chrono::duration<double>(now - start).count());
    {
      std::lock_guard lock(m_);
      for (; sent < due; ++sent) {
        if (o_.what == scenario::notify) {
          if (connected_now_ == 0) break;
          std::size_t target = 0;
          for (std::size_t tries = 0; tries < states_.size(); ++tries) {
            target = next_sender_++ % states_.size();
            if (states_[target].connected) break;
          }
          auto gid = next_gid_++;
          std::string stamp = "N" + std::to_string(gid) + ":" + std::to_string(now_ns()) + ":";
          stamp.resize(std::max(stamp.size(), o_.payload), 'x');
          std::string body =
            nlohmann::json{{"userId", user_id(target)}, {"title", "load"}, {"message", stamp}, {"type", "info"}}.dump();
          notes_[gid] = target;
          ++win_.sent;
          ++win_.expected;
          auto& poster = posters_[gid % posters_.size()];
          net::post(*ios_[0], [this, poster, body = std::move(body)]() mutable {
            poster->post(o_.notify_path, std::move(body), [this](int status) {
              std::lock_guard lock(m_);
              if (status >= 200 && status < 300)
                ++res_.http_ok;
              else {
                ++res_.http_failed;
                ++res_.close_reasons["http status " + std::to_string(status)];
              }
            });
          });
          continue;
        }
        if (joined_now_ == 0) break;
        std::size_t idx = 0;
        for (std::size_t tries = 0; tries < states_.size(); ++tries) {
          idx = next_sender_++ % states_.size();
          if (states_[idx].joined && states_[idx].sends) break;
        }
        auto& st = states_[idx];
        if (!st.joined || !st.sends) break;  // no sender joined now
        auto& room = rooms_[st.room];
        auto gid = next_gid_++;
        std::string content = "L" + std::to_string(gid) + ":" + std::to_string(now_ns()) + ":";
        content.resize(std::max(content.size(), o_.payload), 'x');
        tracked tr;
        tr.room = static_cast<std::uint32_t>(st.room);
        tr.sender = static_cast<std::uint32_t>(idx);
        tr.expected = room.present;
        tr.expected_n = static_cast<std::uint32_t>(room.present.count());
        ++room.sent;
        ++win_.sent;
        win_.expected += tr.expected_n;
        if (tr.expected_n) tracked_.emplace(gid, std::move(tr));
        std::string args =
          "[\"send-message\",{\"projectId\":\"" + room_id(st.room) + "\",\"content\":\"" + content + "\"}]";
        auto ack_id = st.c->emit(args, true);
        if (tr.expected_n) st.pending_sends[ack_id] = gid;
      }
    }
    if (now - last_progress > std::chrono::milliseconds(250)) {
      last_progress = now;
      progress_tick(o_.what == scenario::notify ? "notify" : "send");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

void runner::drain() {
  auto start = clock::now();
  while (clock::now() - start < o_.drain && !timed_out()) {
    {
      std::lock_guard lock(m_);
      if (tracked_.empty() && notes_.empty()) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void runner::storm() {
  std::vector<std::shared_ptr<client>> victims;
  {
    std::lock_guard lock(m_);
    auto every = static_cast<std::size_t>(std::max(1.0, 1.0 / std::max(o_.storm_fraction, 1e-9)));
    auto now = clock::now();
    // The same share of every room (clients are spread over rooms round-robin, so
    // every n-th client overall would empty whole rooms).
    for (std::size_t i = 0; i < states_.size(); ++i) {
      auto& st = states_[i];
      if (!st.joined || st.slot % every != 0) continue;
      st.dropped_by_us = true;
      st.dropped_at = now;
      st.room_sent_at_drop = rooms_[st.room].sent;
      rooms_[st.room].present.reset(st.slot);  // messages sent while it is away are not expected
      victims.push_back(st.c);
    }
    res_.storm_dropped = victims.size();
  }
  for (auto& c : victims) c->drop();
}

run_result runner::go() {
  res_.clients = o_.clients;
  raise_fd_limit(o_.clients * (o_.tr == transport::websocket ? 1 : 3) + 1024);
  std::size_t nthreads = o_.threads;
  for (std::size_t i = 0; i < nthreads; ++i) ios_.push_back(std::make_unique<net::io_context>(1));
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& io : ios_) guards.push_back(net::make_work_guard(*io));
  std::vector<std::thread> threads;
  for (auto& io : ios_) threads.emplace_back([&io] { io->run(); });

  states_.resize(o_.clients);
  rooms_.resize(wants_rooms() ? o_.rooms : 0);
  server_key_.resize(o_.servers.size());
  for (std::size_t k = 0; k < o_.servers.size(); ++k) {
    const auto& a = o_.servers[k];
    server_key_[k] = k;
    for (std::size_t j = 0; j < k; ++j) {
      const auto& b = o_.servers[j];
      if (a.host == b.host && a.port == b.port && a.path == b.path) {
        server_key_[k] = server_key_[j];
        break;
      }
    }
    if (server_key_[k] != 0) multi_ = true;
  }
  for (std::size_t i = 0; i < o_.clients; ++i) {
    auto& st = states_[i];
    st.user = user_id(i);
    if (wants_rooms()) {
      st.room = i % o_.rooms;
      st.slot = rooms_[st.room].size++;
    }
    // By the slot in its room, so that every room is split over the servers (by the
    // index, rooms 0, 2, 4, ... would all be on the first of two servers).
    st.server = (wants_rooms() ? st.slot : i) % o_.servers.size();
    st.sends = o_.sender_servers.empty() || o_.sender_servers[st.server];
  }
  for (auto& r : rooms_) r.present.resize(r.size);
  if (o_.what == scenario::notify)
    for (std::size_t i = 0; i < o_.http_connections; ++i)
      posters_.push_back(http_poster::make(*ios_[0], o_.servers.front(), local_address(o_.clients + i),
                                           o_.api_key.empty() ? "" : "Bearer " + o_.api_key));

  res_.rss_before = servers_rss();
  t0_ = clock::now();
  connect_all();

  switch (o_.what) {
    case scenario::idle: {
      wait(o_.settle, "settle");
      res_.rss_after = servers_rss();
      begin_window(0);
      wait(o_.hold, "hold");
      res_.measured = end_window();
      std::lock_guard lock(m_);
      res_.still_connected = connected_now_;
      break;
    }
    case scenario::chat:
    case scenario::notify: {
      res_.rss_after = servers_rss();
      if (!o_.search) {
        send_for(o_.rate, o_.warmup, false);
        drain();
        end_window();
        begin_window(o_.rate);
        send_for(o_.rate, o_.duration, true);
        drain();
        res_.measured = end_window();
        break;
      }
      std::size_t tries = 0;
      for (double rate = o_.search_start; rate <= o_.search_max && !timed_out();) {
        send_for(rate, o_.warmup, false);
        drain();
        end_window();
        begin_window(rate);
        send_for(rate, o_.duration, true);
        drain();
        auto w = end_window();
        auto p99 = w.latency.quantile(0.99);
        w.passed = w.lost == 0 && w.disconnects == 0 && w.delivered > 0 &&
                   p99 < static_cast<std::uint64_t>(o_.p99_limit.count()) * 1000;
        bool passed = w.passed;
        if (passed) {
          res_.best_rate = rate;
          res_.best_delivered_per_s = static_cast<double>(w.delivered) / std::max(w.seconds, 1e-9);
          res_.measured = w;
        }
        res_.steps.push_back(std::move(w));
        wait(std::chrono::milliseconds(500), "pause");
        if (passed) {
          tries = 0;
          rate *= o_.search_factor;
        } else if (++tries > o_.search_retries) {
          break;  // a step fails once it failed 1 + retries times in a row
        }
      }
      if (!res_.best_rate && !res_.steps.empty()) res_.measured = res_.steps.front();
      break;
    }
    case scenario::storm: {
      send_for(o_.rate, o_.warmup, false);
      drain();
      end_window();
      begin_window(o_.rate);
      send_for(o_.rate, o_.duration / 3, true);
      storm();
      send_for(o_.rate, o_.duration - o_.duration / 3, true);
      drain();
      res_.measured = end_window();
      break;
    }
  }

  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  if (o_.progress) progress_.finish();
  res_.wall_seconds = std::chrono::duration<double>(clock::now() - t0_).count();
  res_.client_cpu_us_total = self_cpu_us();
  for (auto& io : ios_) io->stop();
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(m_);
    for (auto& st : states_) st.c.reset();
    posters_.clear();
  }
  return std::move(res_);
}

}  // namespace

run_result run(const options& o) {
  runner r(o);
  return r.go();
}

}  // namespace hub::load
