#include "net/http/static_files.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using hub::http::content_type_for;
using hub::http::safe_relative_path;
using hub::http::static_files;

namespace {

hub::http::request_info get(const std::string& target, const std::string& method = "GET") {
  hub::http::request_info r;
  r.method = method;
  r.target = target;
  return r;
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string header(const hub::http::http_reply& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

}  // namespace

TEST_CASE("static files: URL paths map to relative file paths", "[http][static]") {
  CHECK(safe_relative_path("/") == "index.html");
  CHECK(safe_relative_path("/app.js") == "app.js");
  CHECK(safe_relative_path("/img/logo.svg") == "img/logo.svg");
  CHECK(safe_relative_path("/docs/") == "docs/index.html");
  CHECK(safe_relative_path("/hello%20world.txt") == "hello world.txt");
}

TEST_CASE("static files: traversal and hidden paths are refused", "[http][static]") {
  for (const char* bad :
       {"/..", "/../etc/passwd", "/a/../../b", "/%2e%2e/secret", "/%2E%2E/secret", "/a/%2f../b", "/a%5c..%5cb",
        "/a\\..\\b", "/.git/config", "/.env", "/./app.js", "//etc/passwd", "/a//b", "/x%00.js", "relative", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(safe_relative_path(bad).has_value());
  }
}

TEST_CASE("static files: content types by extension", "[http][static]") {
  CHECK(content_type_for("index.html") == "text/html; charset=utf-8");
  CHECK(content_type_for("app.js") == "application/javascript; charset=utf-8");
  CHECK(content_type_for("style.CSS") == "text/css; charset=utf-8");
  CHECK(content_type_for("socket.io.js.map") == "application/json; charset=utf-8");
  CHECK(content_type_for("logo.svg") == "image/svg+xml");
  CHECK(content_type_for("icon.png") == "image/png");
  CHECK(content_type_for("README") == "application/octet-stream");
  CHECK(content_type_for("archive.tar.gz") == "application/octet-stream");
}

TEST_CASE("static files: serving from a directory", "[http][static]") {
  hub::test::unique_temp_dir dir("hub-static");
  write(dir.path / "public" / "index.html", "<h1>hi</h1>");
  write(dir.path / "public" / "app.js", "console.log(1)");
  write(dir.path / "secret.txt", "outside the root");
  static_files files(dir.path / "public", "/");

  SECTION("index at /, with its type and caching headers") {
    auto r = files.serve(get("/?x=1"));
    CHECK(r.status == 200);
    CHECK(r.body == "<h1>hi</h1>");
    CHECK(r.content_type == "text/html; charset=utf-8");
    CHECK(header(r, "Cache-Control") == "no-cache");
    CHECK_FALSE(header(r, "ETag").empty());
  }
  SECTION("a script") {
    auto r = files.serve(get("/app.js"));
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/javascript; charset=utf-8");
  }
  SECTION("HEAD answers like GET (the HTTP session drops the body)") {
    auto r = files.serve(get("/app.js", "HEAD"));
    CHECK(r.status == 200);
    CHECK(r.body == "console.log(1)");
  }
  SECTION("a missing file is 404") {
    CHECK(files.serve(get("/nope.js")).status == 404);
    CHECK(files.serve(get("/nope/")).status == 404);
  }
  SECTION("a directory without index.html is 404, not a listing") {
    std::filesystem::create_directories(dir.path / "public" / "empty");
    CHECK(files.serve(get("/empty")).status == 404);
    CHECK(files.serve(get("/empty/")).status == 404);
  }
  SECTION("traversal out of the root is 404") {
    CHECK(files.serve(get("/../secret.txt")).status == 404);
    CHECK(files.serve(get("/%2e%2e/secret.txt")).status == 404);
  }
  SECTION("other methods on a file are 405 with Allow; on no file, 404") {
    auto r = files.serve(get("/app.js", "POST"));
    CHECK(r.status == 405);
    CHECK(header(r, "Allow") == "GET, HEAD");
    CHECK(files.serve(get("/dev/token", "POST")).status == 404);
  }
  SECTION("If-None-Match with the current ETag is 304 without a body") {
    auto etag = header(files.serve(get("/app.js")), "ETag");
    auto req = get("/app.js");
    req.headers["if-none-match"] = "\"other\", " + etag;
    auto r = files.serve(req);
    CHECK(r.status == 304);
    CHECK(r.body.empty());
  }
}

TEST_CASE("static files: a prefix and a fixed ETag (the socket.io-client bundle)", "[http][static]") {
  hub::test::unique_temp_dir dir("hub-static");
  write(dir.path / "dist" / "socket.io.js", "/*! Socket.IO v4.8.4 */");
  static_files files(dir.path / "dist", "/socket.io/", {"public, max-age=0", "\"4.8.4\""});
  auto r = files.serve(get("/socket.io/socket.io.js"));
  CHECK(r.status == 200);
  CHECK(r.body == "/*! Socket.IO v4.8.4 */");
  CHECK(header(r, "ETag") == "\"4.8.4\"");
  CHECK(header(r, "Cache-Control") == "public, max-age=0");
  auto req = get("/socket.io/socket.io.js");
  req.headers["if-none-match"] = "\"4.8.4\"";
  CHECK(files.serve(req).status == 304);
  CHECK(files.serve(get("/other/socket.io.js")).status == 404);
  CHECK(files.serve(get("/socket.io/../dist/socket.io.js")).status == 404);
}
