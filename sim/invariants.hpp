// What must hold whatever the faults, checked as events happen and at the end of a
// run. A violation throws: the run stops at once with the invariant's name, the
// virtual time, the client involved and the trace lines that led to it.
//
//   delivery-order      a client's live + replayed new-message stream for a room, within
//                       one membership that stays or is recovered, is exactly seq+1 each
//                       time: no duplicate, nothing out of order, no gap
//   acked-delivered     at the end, every acknowledged message reached every member (live,
//                       replayed after recovery, or synced after a fresh session)
//   acked-durable       every acknowledged message is in its room's log with its id,
//                       also after server crashes
//   room-log-gap        a room log (sync pages, the store at the end) has no hole
//   ghost-typing        a connected client shows nobody typing longer than the typing
//                       timeout after that user's last `typing` reached the server
//   presence            after the grace period, each room's online list is exactly the
//                       users with a connection in it
//   rate-limit          per user and server lifetime, at most COUNT accepted messages in
//                       any WINDOW
//   recovered-rooms     a recovered session is still in every room it had joined
//   client-protocol     the server sent something a client cannot decode
#pragma once

#include "protocol/json_args.hpp"
#include "sim/event_queue.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace hub::sim {

// What makes a chat message that message: who sent what, when (as acked or as stored).
inline std::string message_fingerprint(const json& m) {
  if (!m.is_object()) return {};
  return m.value("senderId", std::string{}) + "\n" + m.value("content", std::string{}) + "\n" +
         m.value("createdAt", std::string{});
}

struct violation : std::runtime_error {
  violation(std::string inv, std::string detail, int client, nanos t)
    : std::runtime_error(inv + ": " + detail),
      invariant(std::move(inv)),
      detail(std::move(detail)),
      client(client),
      at(t) {}
  std::string invariant;
  std::string detail;
  int client;
  nanos at;
};

class invariants {
 public:
  invariants(std::size_t rate_count, nanos rate_window, nanos typing_timeout, nanos max_latency)
    : rate_count_(rate_count), rate_window_(rate_window), typing_timeout_(typing_timeout), max_latency_(max_latency) {}

  [[noreturn]] void fail(const std::string& inv, const std::string& detail, int client, nanos t) const {
    throw violation(inv, detail, client, t);
  }

  // A send-message ack {ok:true}: `server_t` is when the server answered (= accepted it,
  // as actors take no virtual time), `incarnation` the server lifetime.
  // `fingerprint` (message_fingerprint) identifies the message's content: ids are
  // derived from seqs, so they cannot tell a replaced message from the acked one.
  void acked(int client, const std::string& user, const std::string& project, std::uint64_t seq,
             const std::string& fingerprint, nanos server_t, int incarnation);
  const std::map<std::string, std::map<std::uint64_t, std::string>>& acked_messages() const { return acked_; }

  // `typing` reached the server.
  void typing_received(const std::string& user, const std::string& project, nanos t) {
    last_typing_[user + "\n" + project] = t;
  }
  // May a client show `user` typing in `project` at `now`?
  void check_typing_shown(int client, const std::string& user, const std::string& project, nanos now,
                          nanos healthy_since) const;

  // Sync page: entries after `after`, in order, without holes.
  void check_page(int client, const std::string& project, std::uint64_t after, const std::vector<std::uint64_t>& seqs,
                  nanos now) const;

 private:
  std::size_t rate_count_;
  nanos rate_window_;
  nanos typing_timeout_;
  nanos max_latency_;
  std::map<std::string, std::map<std::uint64_t, std::string>> acked_;  // project -> seq -> id
  std::map<std::string, std::multiset<nanos>> accepted_;               // incarnation/user -> times
  std::map<std::string, nanos> last_typing_;
};

}  // namespace hub::sim
