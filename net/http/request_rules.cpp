#include "net/http/request_rules.hpp"

#include "util/url.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include <cctype>

namespace hub::http {

namespace bhttp = boost::beast::http;

// Beast refuses some of these itself; the rest are checked here on the parsed header.
const char* framing_error(const bhttp::fields& req) {
  const auto te = req.find(bhttp::field::transfer_encoding);
  const auto lengths = req.count(bhttp::field::content_length);
  if (te != req.end()) {
    if (lengths > 0) return "both Content-Length and Transfer-Encoding";
    if (req.count(bhttp::field::transfer_encoding) > 1) return "repeated Transfer-Encoding";
    std::string coding(te->value());
    for (auto& c : coding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (coding != "chunked") return "unsupported Transfer-Encoding";
  }
  if (lengths > 1) return "repeated Content-Length";
  return nullptr;
}

bool is_framing_error(const boost::beast::error_code& ec) {
  return ec == bhttp::error::bad_content_length || ec == bhttp::error::bad_transfer_encoding ||
         ec == bhttp::error::bad_chunk || ec == bhttp::error::bad_chunk_extension || ec == bhttp::error::bad_method ||
         ec == bhttp::error::bad_target || ec == bhttp::error::bad_version || ec == bhttp::error::bad_field ||
         ec == bhttp::error::bad_value || ec == bhttp::error::bad_line_ending || ec == bhttp::error::header_limit ||
         ec == bhttp::error::bad_obs_fold;
}

bool path_matches(std::string_view path, const std::string& prefix) {
  if (path.rfind(prefix, 0) == 0) return true;
  // "/socket.io" without the trailing slash.
  return !prefix.empty() && prefix.back() == '/' && path == std::string_view(prefix).substr(0, prefix.size() - 1);
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    auto eq = part.find('=');
    if (!part.empty()) {
      if (eq == std::string_view::npos)
        out[url_decode(part, true)] = "";
      else
        out[url_decode(part.substr(0, eq), true)] = url_decode(part.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace hub::http
