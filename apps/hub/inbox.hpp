// A user's notification inbox as state folded from its durable log (`inbox/<user>`).
// Pure: no actors, no I/O. The mailbox actor (user_actor) builds an entry, appends it,
// and only once it is durable applies it here and announces it; loading after a restart
// applies the same entries in order, so memory and disk cannot disagree.
//
// Log entries (JSON):
//   {"t":"n","n":{id,title,message,type,data,createdAt}}  a notification, or a new
//        version of one (same id: a coalesced chat notification whose count grew)
//   {"t":"r","ids":[...],"unread":k} | {"t":"r","all":true,"unread":k}   marked read
// The same entries are what connection state recovery replays to a returning client.
#pragma once

#include "protocol/json_args.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hub {

class inbox {
 public:
  // Folds one entry with its log seq (entries must come in seq order).
  void apply(std::uint64_t seq, const json& entry);

  // A new notification. `input` holds title, message, type and optionally data.
  static json notification_entry(const std::string& id, const json& input, const std::string& created_at);

  // A chat message for a member who was not in the room: a new chat notification, or,
  // when one for the project is still unread, a new version of it with count + 1.
  json chat_entry(const std::string& project, const json& message, const std::string& new_id,
                  const std::string& created_at) const;

  // Marks `ids` (those that are unread; others are ignored) or everything read.
  // nullopt when that changes nothing.
  std::optional<json> read_entry(const std::vector<std::string>& ids, bool all) const;

  std::size_t unread() const { return unread_; }
  std::size_t size() const { return items_.size(); }
  std::uint64_t last_seq() const { return last_seq_; }
  // The seq of the oldest kept notification's latest version (0 when empty).
  std::uint64_t oldest_seq() const { return by_seq_.empty() ? 0 : by_seq_.begin()->first; }

  // Notifications as clients see them, newest first (by latest version).
  json list(bool unread_only, std::size_t limit) const;
  // Unread notifications whose latest version came after `seq`, oldest first.
  std::vector<json> unread_after(std::uint64_t seq) const;
  // Drops the oldest notifications until at most `keep` remain; returns the seq from
  // which the log must be kept (0: nothing dropped).
  std::uint64_t trim(std::size_t keep);

  // The client view of a stored notification: the stored fields plus `read`.
  static json client_view(const json& n, bool read);
  // What a client gets when recovery replays an entry: (event, payload), or nullopt.
  static std::optional<std::pair<std::string, json>> replay_event(const json& entry);

 private:
  struct item {
    json n;
    bool read = false;
    std::uint64_t seq = 0;  // of its latest version
  };
  void mark_read(item& it);

  std::map<std::string, item> items_;             // by id
  std::map<std::uint64_t, std::string> by_seq_;   // latest version seq -> id
  std::map<std::string, std::string> open_chat_;  // project -> id of its unread chat notification
  std::size_t unread_ = 0;
  std::uint64_t last_seq_ = 0;
};

}  // namespace hub
