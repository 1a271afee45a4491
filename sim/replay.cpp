#include "sim/replay.hpp"

#include "protocol/json_args.hpp"

#include <fstream>
#include <map>
#include <stdexcept>

namespace hub::sim {

std::vector<script> load_record(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::map<std::uint64_t, script> by_conn;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("t") || !j.contains("conn") || !j.contains("ev"))
      throw std::runtime_error(path + ":" + std::to_string(n) + ": not a traffic record line");
    auto conn = j["conn"].get<std::uint64_t>();
    nanos at = ms(j["t"].get<std::int64_t>());
    auto ev = j["ev"].get<std::string>();
    auto data = j.value("data", std::string{});
    auto& s = by_conn[conn];
    s.conn = conn;
    if (ev == "open") {
      s.opened = at;
      continue;
    }
    if (ev == "text" && s.user.empty() && !data.empty() && data[0] == '0') {
      auto brace = data.find('{');
      if (brace != std::string::npos) {
        auto auth = json::parse(data.substr(brace), nullptr, false);
        if (auth.is_object() && auth.contains("userId"))
          s.user = auth["userId"].is_string() ? auth["userId"].get<std::string>() : auth["userId"].dump();
      }
    }
    s.items.push_back(script_item{at, std::move(ev), std::move(data)});
  }
  std::vector<script> out;
  for (auto& [c, s] : by_conn) {
    if (s.user.empty()) s.user = "conn" + std::to_string(c);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace hub::sim
