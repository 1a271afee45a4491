#include "server/web_routes.hpp"

#include "net/http/static_files.hpp"
#include "util/log.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <regex>
#include <system_error>

namespace hub {
namespace {

namespace fs = std::filesystem;

// The bundle names Node's socket.io answers (lib/index.ts, serve()). Every polling
// request passes here first, so a cheap prefix test comes before the regex.
bool is_bundle_path(const std::string& target) {
  static constexpr std::string_view prefix = "/socket.io/socket.io.";
  if (target.compare(0, prefix.size(), prefix) != 0) return false;
  static const std::regex re(R"(^/socket\.io/socket\.io(\.msgpack|\.esm)?(\.min)?\.js(\.map)?$)");
  return std::regex_match(target.substr(0, target.find('?')), re);
}

std::string client_version(const fs::path& package_dir) {
  std::ifstream in(package_dir / "package.json");
  auto pkg = nlohmann::json::parse(in, nullptr, false);
  if (pkg.is_object() && pkg.contains("version") && pkg["version"].is_string())
    return pkg["version"].get<std::string>();
  return {};
}

}  // namespace

fs::path resolve_web_root(const std::string& flag) {
  if (!flag.empty()) return fs::path(flag);
  std::error_code ec;
  std::vector<fs::path> candidates;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "web");
    candidates.push_back(exe.parent_path() / "web");
  }
  candidates.push_back(fs::path("web"));
  for (const auto& c : candidates)
    if (fs::is_directory(c / "public", ec)) return c.lexically_normal();
  return fs::path("web");
}

void add_web_routes(http::route_table& routes, const fs::path& web_root) {
  const fs::path package = web_root / "node_modules" / "socket.io-client";
  std::error_code ec;
  if (fs::is_directory(package / "dist", ec)) {
    // Node's headers: revalidate every time, the client's version as the ETag.
    http::static_options opt{"public, max-age=0", "\"" + client_version(package) + "\""};
    auto files = std::make_shared<http::static_files>(package / "dist", "/socket.io/", opt);
    routes.before_engines.emplace_back([files](const http::request_info& req, const http::responder_ptr& r) {
      if (!is_bundle_path(req.target)) return false;
      r->reply(files->serve(req));
      return true;
    });
  } else {
    log::warn("socket.io-client is not installed under ", package.string(),
              ": /socket.io/socket.io.js answers 503 (run scripts/setup.sh, or pass --web-root)");
    routes.before_engines.emplace_back([](const http::request_info& req, const http::responder_ptr& r) {
      if (!is_bundle_path(req.target)) return false;
      r->reply(http::http_reply{503,
                                "text/plain; charset=utf-8",
                                "socket.io-client is not installed on this server: run scripts/setup.sh "
                                "(npm install in web/) or start hub-server with --web-root\n",
                                {{"Cache-Control", "no-store"}},
                                false});
      return true;
    });
  }

  const fs::path pages = web_root / "public";
  if (!fs::is_regular_file(pages / "index.html", ec))
    log::warn("no demo page at ", (pages / "index.html").string(), ": / answers 404 (pass --web-root)");
  auto files = std::make_shared<http::static_files>(pages, "/");
  routes.handlers.emplace_back([files](const http::request_info& req, const http::responder_ptr& r) {
    auto reply = files->serve(req);
    // No such file: decline, so that unknown paths keep the server's JSON 404.
    if (reply.status == 404) return false;
    r->reply(std::move(reply));
    return true;
  });
}

}  // namespace hub
