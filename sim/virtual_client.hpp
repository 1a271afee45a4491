// A virtual browser tab running socket.io-client's behaviour against the hub app,
// speaking real Engine.IO/Socket.IO packets through the project's codecs: connect with
// auth {userId, userName} (+ pid/offset to recover), reconnect with randomized
// exponential backoff, strip and keep the recovery offset of every event, join the
// user's project rooms, sync after a fresh session, and emit what the workload asks.
// It also keeps what it received, for the delivery invariants.
#pragma once

#include "protocol/json_args.hpp"
#include "protocol/socketio_packet.hpp"
#include "sim/event_queue.hpp"
#include "sim/replay.hpp"
#include "sim/rng.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hub::sim {

class simulation;
class sim_link;

// What a client knows about one project room.
struct room_view {
  enum class member { none, joining, joined, leaving };
  member m = member::none;
  bool want = true;                   // the user wants to be in the room
  std::optional<std::uint64_t> base;  // lastSeq at the first join: older messages are not owed
  std::uint64_t contiguous = 0;       // every seq in (base, contiguous] was received
  std::set<std::uint64_t> ahead;      // received seqs beyond contiguous
  std::uint64_t owed = 0;             // lastSeq of the latest join: to hold (by sync) up to here
  // The live/replayed stream of the current membership: last seq, if any yet.
  bool chain_on = false;
  std::optional<std::uint64_t> chain_last;
  bool syncing = false;
};

class virtual_client {
 public:
  virtual_client(simulation& sim, int index, std::string user, std::vector<std::string> projects, rng r);

  enum class phase { offline, connecting, open, connected };

  void start();  // first connect
  // Replay: play a recorded connection's packets at their times instead of a workload.
  void play(script s);
  // -- from the network --------------------------------------------------------------------
  void on_open(std::uint64_t link);  // transport is up
  void on_packet(std::uint64_t link, const std::string& text, nanos sent_at, int incarnation);
  void on_closed(std::uint64_t link, const std::string& reason);
  void on_connect_failed();  // partitioned

  // -- from the workload -------------------------------------------------------------------
  void send_message();
  void typing(bool start);
  void mark_read();
  void get_presence();
  void toggle_room();  // leave a joined room, or rejoin one left
  void reload();       // page reload: client disconnect, fresh session

  // -- faults ------------------------------------------------------------------------------
  void pause(nanos d);  // the tab freezes: nothing processed or sent
  void resume();        // it wakes (at the end of the pause, or when faults stop)
  bool paused() const { return paused_; }
  void die_mid_frame();  // transport dies while writing a message

  // -- checks -----------------------------------------------------------------------------
  void check_typing(nanos now) const;
  bool settled() const;                    // connected, nothing pending, rooms as wanted
  std::string describe() const;            // why it is (not) settled, for reports
  bool finished() const { return done_; }  // a replayed connection that closed for good

  const int index;
  const std::string user;
  phase ph = phase::offline;
  std::map<std::string, room_view> rooms;
  std::map<std::string, nanos> typing_shown;  // users shown typing (any room) -> since
  nanos healthy_since = 0;                    // link usable (connected, not paused/partitioned) since
  bool partitioned = false;
  std::uint64_t reconnects = 0, recoveries = 0;

 private:
  simulation& sim_;
  rng rng_;
  std::shared_ptr<sim_link> link_;
  sio::decoder decoder_;
  std::optional<std::string> pid_;
  std::optional<std::string> offset_;
  std::uint64_t next_ack_ = 0;
  struct pending {
    std::string kind;
    std::string project;
    std::uint64_t after = 0;
  };
  std::map<std::uint64_t, pending> acks_;
  int attempts_ = 0;
  std::uint64_t sent_ = 0;
  bool paused_ = false;
  std::uint64_t pause_gen_ = 0;
  std::vector<std::function<void()>> inbox_;  // what arrived while paused
  // -- replay ------------------------------------------------------------------------------
  bool scripted_ = false;
  bool done_ = false;
  std::string connect_text_;          // the recorded CONNECT packet
  std::vector<std::string> pending_;  // recorded packets waiting for a connection
  void play_item(const script_item& it);
  void send_recorded(const std::string& sio_text);
  void send_connect();
  void flush_pending();

  void connect();
  void schedule_reconnect();
  void lost(const std::string& reason);
  void emit(const std::string& event, json payload, const std::string& ack_kind = {}, const std::string& project = {},
            std::uint64_t after = 0);
  void handle(const sio::packet& p, nanos sent_at, int incarnation);
  void on_connected(const json& body);
  void on_event(const std::string& name, json& args);
  void on_ack(const pending& what, const json& args, nanos sent_at, int incarnation);
  void on_message(const json& msg, bool live);
  void join(const std::string& project);
  void sync(const std::string& project);
  void record(room_view& r, std::uint64_t seq);
  std::vector<std::string> joined() const;
};

}  // namespace hub::sim
