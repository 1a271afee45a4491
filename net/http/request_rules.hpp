// What the server does with a request between Beast's parser and the routes: framing
// checks (RFC 9112 §6), which parse errors are the client's fault (400), route prefixes
// and query strings. Pure: no I/O, so that fuzz/http_request.cpp can run them on
// whatever the parser made of arbitrary bytes.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/fields.hpp>

#include <map>
#include <string>
#include <string_view>

namespace hub::http {

// Why a parsed request header is refused (400), or nullptr: both Content-Length and
// Transfer-Encoding, a coding other than chunked, Content-Length that is not one number.
const char* framing_error(const boost::beast::http::fields& req);

// A parse error that the client caused by malformed framing (answered 400, not dropped).
bool is_framing_error(const boost::beast::error_code& ec);

// `path` is under the route `prefix`; "/socket.io" matches "/socket.io/" too.
bool path_matches(std::string_view path, const std::string& prefix);

// Splits "a=1&b=x%20y" into decoded pairs.
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace hub::http
