// The vocabulary of cluster-wide operations (Node's fetchSockets, socketsJoin,
// socketsLeave, disconnectSockets, serverSideEmit, broadcasts with acks): what an
// application asks for, what it gets back, and the messages the cluster adapter
// (cluster_adapter.hpp) exchanges with the directory and the connection actors to
// carry them out on this node. Without --redis the same operations cover this node.
#pragma once

#include "sio/messages.hpp"
#include "protocol/json_args.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hub::sio {

// Node's selection of sockets: in any of `rooms` (every socket of the namespace when
// empty) and in none of `except`. A socket's id is a room of its own.
struct socket_selector {
  std::vector<std::string> rooms;
  std::vector<std::string> except;
};

// What fetch_sockets() found: each socket as Node's RemoteSocket carries it, an object
// {id, handshake, rooms, data}. `error` is set when some node did not answer in time
// (Node rejects then; we also hand over what did arrive).
struct fetch_result {
  std::vector<json> sockets;
  std::string error;
};
using fetch_callback = std::function<void(fetch_result)>;

// The answers to a server-side emit or a broadcast with acks: one element per answer
// (a server-side emit's reply, a client's first ack argument). `error` as Node's first
// callback argument: "operation has timed out", "timeout reached: only 1 responses
// received out of 2", or empty.
struct ack_result {
  std::string error;
  json responses = json::array();
};
using ack_result_callback = std::function<void(ack_result)>;

// An application's handler of server-side emits from other nodes (Node's
// io.of(nsp).on(event, ...args, [callback])). `reply` is empty when the sender wants no
// answer; otherwise call it once (from any thread) with the answer.
using server_side_reply = std::function<void(json answer)>;
using server_side_handler =
  std::function<void(const std::string& event, const json& args, const server_side_reply& reply)>;

// -- adapter <-> connection actors -------------------------------------------------------

// describe_atom: does this connection's socket in `nsp` match? The reply is null when
// not, else its id (`ids_only`) or its RemoteSocket object.
struct describe_query {
  std::string nsp;
  std::vector<std::string> rooms;
  std::vector<std::string> except;
  bool ids_only = false;
};
using describe_query_ptr = std::shared_ptr<const describe_query>;

// The handshake as Node's socket.handshake: {headers, time, address, xdomain, secure,
// issued, url, query, auth}.
json describe_handshake(const handshake& hs, const json& auth);

// -- application -> adapter ----------------------------------------------------------------

struct cluster_call {
  enum class kind : std::uint8_t { fetch_sockets, server_side_emit, broadcast_with_ack, server_count };
  kind what = kind::fetch_sockets;
  std::string nsp;
  socket_selector selector;
  bool local = false;  // this node only
  std::string event;   // server-side emit, broadcast with acks
  json args = json::array();
  std::chrono::milliseconds timeout{0};  // broadcast with acks, server-side emit with ack
  bool wants_ack = false;                // server-side emit
  fetch_callback on_sockets;
  ack_result_callback on_answers;
  std::function<void(std::size_t)> on_count;
};
using cluster_call_ptr = std::shared_ptr<const cluster_call>;

using cluster_call_atom = caf::atom_constant<caf::atom("cl_call")>;      // cluster_call_ptr
using cluster_in_atom = caf::atom_constant<caf::atom("cl_in")>;          // channel, payload (requests, responses)
using cluster_numsub_atom = caf::atom_constant<caf::atom("cl_numsub")>;  // request id, count (-1: unknown)
using cluster_timeout_atom = caf::atom_constant<caf::atom("cl_tout")>;   // request id
using cluster_ack_atom = caf::atom_constant<caf::atom("cl_ack")>;        // request id, first ack argument

}  // namespace hub::sio

// Answers of connection actors (a socket's description) and acks travel as json.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::json)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::sio::describe_query_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hub::sio::cluster_call_ptr)
