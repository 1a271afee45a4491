#include "server/traffic_recorder.hpp"

#include "sio/messages.hpp"
#include "protocol/base64.hpp"
#include "protocol/json_args.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hub {

namespace {

// The record holds every handshake's auth, tokens included: readable by its owner only,
// whatever the umask, and also when the file was there before with wider permissions.
const std::string& create_private(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot create the traffic record " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  return path;
}

}  // namespace

traffic_recorder::traffic_recorder(const std::string& path)
  : out_(create_private(path), std::ios::binary | std::ios::app) {
  if (!out_) throw std::runtime_error("cannot write the traffic record " + path);
}

void traffic_recorder::write(std::uint64_t conn, std::string_view ev, std::string_view data) {
  auto t = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count();
  json line = json::object();
  line["t"] = t;
  line["conn"] = conn;
  line["ev"] = ev;
  line["data"] = data;
  auto text = line.dump(-1, ' ', false, json::error_handler_t::replace);
  std::lock_guard lock(mutex_);
  out_ << text << '\n';
  out_.flush();  // a record is most useful after a crash
}

caf::actor traffic_recorder::wrap(caf::actor_system& sys, caf::actor conn, const sio::handshake& hs) {
  auto id = next_.fetch_add(1);
  write(id, "open", hs.remote_address);
  auto self_ptr = shared_from_this();
  return sys.spawn([rec = self_ptr, conn, id](caf::event_based_actor* self) -> caf::behavior {
    self->monitor(conn);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
    return {
      [=](eio_text_atom, std::string& s) {
        rec->write(id, "text", s);
        self->send(conn, eio_text_atom::value, std::move(s));
      },
      [=](eio_binary_atom, std::string& b) {
        rec->write(id, "bin", base64::encode(b));
        self->send(conn, eio_binary_atom::value, std::move(b));
      },
      [=](eio_closed_atom, close_reason why) {
        rec->write(id, "close", std::string(to_string(why)));
        self->send(conn, eio_closed_atom::value, why);
      },
    };
  });
}

}  // namespace hub
