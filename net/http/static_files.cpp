#include "net/http/static_files.hpp"

#include "util/url.hpp"

#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace hub::http {
namespace {

namespace fs = std::filesystem;

// Static files are small (a page, a script, a ~50 KB bundle); anything bigger is not
// what this handler is for and would be read into memory whole.
constexpr std::uintmax_t max_file_size = std::uintmax_t{8} * 1024 * 1024;

eio::http_reply text_reply(int status, std::string body) {
  return eio::http_reply{status, "text/plain; charset=utf-8", std::move(body), {}, false};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether an If-None-Match header value ("a", "b" or *) names `etag`.
bool etag_matches(std::string_view header, const std::string& etag) {
  if (header == "*") return true;
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto comma = header.find(',', pos);
    auto item = header.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    // Weak comparison (RFC 9110 §13.1.2): W/ prefixes do not matter for GET.
    auto strip = [](std::string_view t) { return t.rfind("W/", 0) == 0 ? t.substr(2) : t; };
    if (strip(item) == strip(etag)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

std::optional<std::string> safe_relative_path(std::string_view url_path) {
  // Reject encoded separators before decoding: "%2f" must not turn into a segment break.
  auto low = lower(url_path);
  if (low.find("%2f") != std::string::npos || low.find("%5c") != std::string::npos ||
      low.find("%00") != std::string::npos)
    return std::nullopt;
  std::string path = url_decode(url_path, false);
  if (path.empty() || path.front() != '/') return std::nullopt;
  if (path.find('\\') != std::string::npos || path.find('\0') != std::string::npos) return std::nullopt;
  std::string out;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    std::string_view seg =
      std::string_view(path).substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    bool last = slash == std::string::npos;
    if (seg.empty()) {
      if (!last) return std::nullopt;                     // "//": never produced by a browser, refuse
      out += out.empty() ? "index.html" : "/index.html";  // "/" or "/dir/"
      break;
    }
    // ".", ".." and hidden files (".git", ".env") are never served.
    if (seg.front() == '.') return std::nullopt;
    if (!out.empty()) out += '/';
    out += seg;
    if (last) break;
    pos = slash + 1;
  }
  return out;
}

std::string content_type_for(std::string_view filename) {
  auto dot = filename.rfind('.');
  std::string ext = dot == std::string_view::npos ? std::string() : lower(filename.substr(dot + 1));
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "application/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}

static_files::static_files(fs::path root, std::string url_prefix, static_options opt)
  : root_(std::move(root)), prefix_(std::move(url_prefix)), opt_(std::move(opt)) {}

eio::http_reply static_files::serve(const eio::request_info& req) const {
  std::string path = req.target.substr(0, req.target.find('?'));
  if (path.rfind(prefix_, 0) != 0) return text_reply(404, "not found\n");
  // Keep the leading slash: "/socket.io/socket.io.js" with prefix "/socket.io/" -> "/socket.io.js".
  auto rel = safe_relative_path(std::string_view(path).substr(prefix_.size() - (prefix_.back() == '/' ? 1 : 0)));
  if (!rel) return text_reply(404, "not found\n");

  fs::path file = root_ / *rel;
  std::error_code ec;
  auto status = fs::status(file, ec);
  if (ec || !fs::is_regular_file(status)) return text_reply(404, "not found\n");
  auto size = fs::file_size(file, ec);
  if (ec || size > max_file_size) return text_reply(404, "not found\n");
  // After the lookup, so that a POST to a path with no file stays a plain 404.
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = text_reply(405, "method not allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }

  std::string etag = opt_.etag;
  if (etag.empty()) {
    auto mtime = fs::last_write_time(file, ec);
    auto ticks = ec ? 0LL
                    : static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                                               .count());
    etag = "W/\"" + std::to_string(size) + "-" + std::to_string(ticks) + "\"";
  }
  eio::http_reply reply;
  reply.headers.emplace_back("Cache-Control", opt_.cache_control);
  reply.headers.emplace_back("ETag", etag);
  // The page and scripts are ours: no sniffing their type into something else.
  reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (auto inm = req.headers.find("if-none-match"); inm != req.headers.end() && etag_matches(inm->second, etag)) {
    reply.status = 304;
    return reply;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return text_reply(404, "not found\n");
  std::ostringstream body;
  body << in.rdbuf();
  reply.status = 200;
  reply.content_type = content_type_for(file.filename().string());
  reply.body = std::move(body).str();
  return reply;
}

}  // namespace hub::http
