// Project Hub's payload parsers (apps/hub/payloads.*) on event arguments as the server
// builds them: the input is the JSON array of a Socket.IO EVENT (["name", args...]);
// what the decoder would refuse (json_bounds at the server's limits, split_array) is
// skipped, the arguments are parsed as sio::event::args() does, and the parser of the
// named event runs on the first argument (as hub_app.cpp calls it), then every parser
// on every argument (so that the fuzzer need not find the names). Invariants: each
// parser's result keeps the bounds it promises in payloads.hpp.
//
// Not here: the few checks hub_app.cpp makes inline in its handlers (sync's
// afterSeq/limit, mark-read's seq, message_seq in chat_room_actor.cpp); they live in
// actor code and are exercised by the unit and interop tests.
#include "fuzz/check.hpp"
#include "apps/hub/payloads.hpp"
#include "protocol/json_limits.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace app = hub::app;
using hub::json;

constexpr std::size_t max_content = 4096;  // --max-content's default

bool bounded(const json& v, std::size_t min, std::size_t max) {
  if (!v.is_string()) return false;
  const auto n = v.get_ref<const std::string&>().size();
  return n >= min && n <= max;
}

void check_id(const std::optional<std::string>& id) {
  if (id) FUZZ_CHECK(!id->empty() && id->size() <= app::max_id_length);
}

void run_all(const json& arg) {
  for (const char* key : {"projectId", "userId", "taskId"}) check_id(app::id_from(arg, key));

  if (auto p = app::parse_send_message(arg, max_content)) {
    check_id(p->project);
    FUZZ_CHECK(p->content.size() <= max_content);
    FUZZ_CHECK(p->content.find_first_not_of(" \t\r\n\f\v") != std::string::npos);
    FUZZ_CHECK(p->reply_to.is_null() || p->reply_to.is_string());
  }
  if (auto n = app::parse_notification(arg)) {
    check_id(n->user);
    const json& in = n->input;
    FUZZ_CHECK(bounded(in.at("title"), 1, 200) && bounded(in.at("message"), 0, 2000) && bounded(in.at("type"), 1, 64));
    FUZZ_CHECK(!in.at("data").is_null());
  }
  if (auto m = app::parse_mark_notifications(arg)) {
    if (m->contains("all")) {
      FUZZ_CHECK(*m == json({{"all", true}}));
    } else {
      const json& ids = m->at("ids");
      FUZZ_CHECK(ids.is_array() && !ids.empty() && ids.size() <= 500);
      for (const auto& id : ids) FUZZ_CHECK(bounded(id, 1, 64));
    }
  }
  if (app::valid_emoji(arg)) {
    FUZZ_CHECK(bounded(arg, 1, 32));
    for (unsigned char c : arg.get_ref<const std::string&>()) FUZZ_CHECK(c > 0x20 && c != 0x7f);
  }
  // react takes its emoji from the payload object.
  if (arg.is_object()) app::valid_emoji(arg.value("emoji", json()));
}

// What hub_app.cpp's handler for `name` parses, on the first argument.
void run_event(const std::string& name, const json& first) {
  if (name == "send-message")
    app::parse_send_message(first, max_content);
  else if (name == "mark-notifications-read")
    app::parse_mark_notifications(first);
  else if (name == "join-user-room")
    check_id(app::id_from(first, "userId"));
  else if (name == "join-task-room" || name == "leave-task-room")
    check_id(app::id_from(first, "taskId"));
  else
    check_id(app::id_from(first, "projectId"));  // the chat room events, typing, sync, ...
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The decoder's gate: within the server's bounds, an array with a name first.
  if (hub::json_bounds::check(text, hub::json_limits{}) != hub::json_bounds::verdict::ok) return 0;
  auto elements = hub::json_args::split_array(text);
  if (!elements || elements->empty()) return 0;

  // As sio::connection::handle_event and sio::event::args().
  std::string name;
  const auto first = (*elements)[0];
  if (first.front() == '"') {
    auto parsed = json::parse(first, nullptr, false);
    if (!parsed.is_string()) return 0;
    name = parsed.get<std::string>();
  } else {
    name = std::string(first);
  }
  std::string raw = "[";
  if (elements->size() > 1) {
    const char* begin = (*elements)[1].data();
    const char* end = elements->back().data() + elements->back().size();
    raw.append(begin, end);
  }
  raw += ']';
  json args = json::parse(raw, nullptr, false);
  FUZZ_CHECK(args.is_array());

  static const json null_value;
  run_event(name, args.empty() ? null_value : args[0]);
  for (const auto& arg : args) run_all(arg);
  return 0;
}
