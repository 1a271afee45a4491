// Serves files from a directory over GET/HEAD: the demo page (web/public) and the
// socket.io-client browser bundle at /socket.io/socket.io.js. No Beast here: requests
// and replies are the transport's plain types, so it is cheap to compile and to test.
#pragma once

#include "net/transport/engine_types.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace hub::http {

// The relative file path a URL path names ("/" and "/dir/" name their index.html), or
// nullopt when it could escape the root or name something we never serve: "..", ".",
// empty or hidden segments, backslashes, NUL, or a %-encoded '/' (decoded before the
// check, so "%2e%2e" is caught too).
std::optional<std::string> safe_relative_path(std::string_view url_path);

// The Content-Type for a file name by its extension; application/octet-stream otherwise.
std::string content_type_for(std::string_view filename);

struct static_options {
  std::string cache_control = "no-cache";  // revalidate each time: the demo changes while developing
  std::string etag;                        // fixed ETag (e.g. the package version); empty: from size+mtime
};

class static_files {
 public:
  // `url_prefix` ("/" or "/socket.io/") is stripped from the path before it is looked
  // up under `root`.
  static_files(std::filesystem::path root, std::string url_prefix, static_options opt = {});

  // The reply for a request whose path starts with the prefix: 200 with the file, 304
  // for a matching If-None-Match, 404 for a missing file or a refused path, 405 for
  // methods other than GET/HEAD on an existing file. A HEAD reply carries the body too: http_session sends only its
  // headers (with the body's Content-Length), as for every route.
  eio::http_reply serve(const eio::request_info& req) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  std::string prefix_;
  static_options opt_;
};

}  // namespace hub::http
