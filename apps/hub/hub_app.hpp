// `hub-server --app hub`: Project Hub's realtime layer (the seed's events) on the
// actor shape of DESIGN.md: a chat room actor per project, a user actor per user, the
// connection actor per client, RocksDB (through the storage actor) for what survives.
#pragma once

#include "apps/hub/actor_registry.hpp"
#include "apps/hub/chat_room_actor.hpp"
#include "sio/sio_server.hpp"
#include "storage/storage_actor.hpp"
#include "apps/hub/user_actor.hpp"
#include "apps/hub/address_limiter.hpp"
#include "apps/hub/auth.hpp"
#include "apps/hub/error_code.hpp"
#include "apps/hub/revocations.hpp"
#include "net/http/http_types.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace hub::app {

struct hub_config {
  std::string jwt_secret;
  token_checks token;   // --jwt-audience, --jwt-issuer, --jwt-leeway
  std::string api_key;  // HUB_API_KEY: server-to-server calls (task events, notifications); empty: refused
  bool dev_auth = false;
  std::size_t max_content = 4096;  // bytes of UTF-8
  // The room settings default to the chat room's own (chat_room_config): one place each.
  std::chrono::milliseconds typing_timeout = chat_room_config{}.typing_timeout;
  std::chrono::milliseconds presence_grace = chat_room_config{}.presence_grace;
  std::uint64_t retention_count = chat_room_config{}.retention_count;          // messages kept per room
  std::chrono::milliseconds retention_age = chat_room_config{}.retention_age;  // and for how long
  rate_limit rate;                                                             // chat messages per user (--rate-limit)
  event_rates events = default_event_rates;  // other client events per user (--typing-rate, ...)
  std::size_t max_rooms_per_socket = 100;    // chat and task rooms a socket may be in
  std::size_t max_distinct_reactions = chat_room_config{}.max_distinct_reactions;  // different emoji on one message
  rate_limit auth_failures{30, std::chrono::seconds(10)};                          // failed handshakes per address
  // A cluster's shared storage (--redis): every node stores into one engine, which
  // publishes each append on the log feed (log_feed.hpp) under this key prefix; each
  // node's room actors deliver from the feed. Empty: this node alone.
  std::string shared_log_prefix;
};

// HS256 keys shorter than the hash (RFC 7518 §3.2 asks for at least 256 bits) draw a
// warning at start: a short shared secret can be found offline from one token. Below
// half of that the server refuses to start. The key is the backend's, so a deployment
// with an existing 16..31-byte key still runs while it is rotated.
inline constexpr std::size_t recommended_jwt_secret_bytes = 32;
inline constexpr std::size_t min_jwt_secret_bytes = 16;

// Pages of the chat log and the inbox (sync event, HTTP API).
inline constexpr std::uint64_t default_page = 50;
inline constexpr std::uint64_t max_page = 500;

// The page size a request asked for: default_page when it named none (nullptr), nullopt
// when the value is not a whole number in 1..max_page.
inline std::optional<std::uint64_t> page_limit(const json* asked) {
  if (!asked) return default_page;
  if (!asked->is_number_unsigned()) return std::nullopt;
  auto limit = asked->get<std::uint64_t>();
  if (limit == 0 || limit > max_page) return std::nullopt;
  return limit;
}

// Requests from a connection actor to the domain actors (its user's mailbox, chat
// rooms, storage) carry no timeout: they are local and answer every request, and if
// one terminates CAF answers with `request_receiver_down`. A timeout would put a timer
// in CAF's clock thread (and wake it) for every chat message.
inline constexpr caf::infinite_t request_timeout{};

// The outcome of posting a chat message, whichever step ended it.
struct post_outcome {
  bool ok = false;
  error_code error{};  // when !ok: unavailable, rate_limited, invalid_reply_target, storage
  json message;        // the stored message when ok
  std::int64_t retry_after_ms = 0;
};

class hub_app {
 public:
  hub_app(sio::server& srv, hub_config cfg, storage::storage_actor storage);
  ~hub_app();

  // Registers the "/" namespace's middleware and events on the server.
  void install();

  // The HTTP API (/api/chat, /api/notifications, /api/tasks, /api/users: http_routes.cpp).
  // Returns false for paths it does not serve.
  bool handle_http(const http::request_info& req, const http::responder_ptr& r);

  // Reads the revocations on record (blocking; at start, before install()). False when
  // storage could not be read: the server must not start without them.
  bool load_revocations();

  // Drops the handles of rooms and users so that their actors can terminate.
  void shutdown();

  // The log feed's entry point (log_feed.hpp), on the link's thread: a room's entry to
  // its actor here, if this node has one (a node without one never delivered that
  // room's messages, and its actor reads the log when it starts).
  void on_log_publication(std::string_view log, std::string payload);
  // The link is back: every room catches up from its log (publications may be lost),
  // and the revocations are read again (a revocation's server-side event may be lost).
  void on_feed_link(bool up);
  // What other hub nodes tell this one (server-side events, "hub:<what>"): a revocation,
  // a member, a room's presence or typing, and who is present here (answered).
  void on_cluster_event(const std::string& event, const json& args, const sio::server_side_reply& reply);

  // Rate limit, then append + broadcast (the same path for Socket.IO and HTTP). Runs
  // in `self`'s context; `done` may run in the room actor's, so it must be thread-safe.
  void post_message(caf::event_based_actor* self, const identity& who, const std::string& project, std::string content,
                    json reply_to, const std::function<void(const post_outcome&)>& done);

  const authenticator& auth() const { return auth_; }
  chat_room_actor room(const std::string& project) { return rooms_.get(project); }
  std::size_t room_count() const { return rooms_.size(); }
  user_actor user(const std::string& id) { return users_.get(id); }

 private:
  struct socket_handlers;  // socket_handlers.cpp
  struct http_routes;      // http_routes.cpp
  sio::server& srv_;
  hub_config cfg_;
  storage::storage_actor storage_;
  authenticator auth_;
  address_limiter auth_failures_;
  revocations revoked_;
  actor_registry<chat_room_actor> rooms_;
  std::shared_ptr<const user_config> user_cfg_;  // shared by every user mailbox (users_)
  actor_registry<user_actor> users_;
  // A cluster: the other nodes seen in room events, watched through their heartbeat keys
  // (a node whose beat stopped is gone: every room drops its users and typists).
  void watch_peer(const std::string& node);
  std::mutex peers_mu_;
  std::set<std::string> peers_;
  caf::actor peer_watch_;
  // What callbacks that may outlive this object (an ask's answers, up to its timeout
  // later) reach it through: null once shutdown() ran.
  struct alive_token {
    std::mutex mu;
    hub_app* app = nullptr;
  };
  std::shared_ptr<alive_token> alive_ = std::make_shared<alive_token>();
};

}  // namespace hub::app
