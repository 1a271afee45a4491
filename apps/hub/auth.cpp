#include "apps/hub/auth.hpp"

#include <jwt/jwt.hpp>

namespace hub::app {

std::optional<identity> authenticator::verify_token(const std::string& token) const {
  if (secret_.empty() || token.empty()) return std::nullopt;
  using namespace jwt::params;
  std::error_code ec;
  auto obj = jwt::decode(token, algorithms({"HS256"}), ec, secret(secret_), verify(true));
  if (ec) return std::nullopt;  // bad signature, malformed, expired (exp is checked)
  const auto& claims = obj.payload().create_json_obj();
  if (!claims.contains("exp") || !claims["exp"].is_number()) return std::nullopt;
  if (!claims.contains("sub") || !claims["sub"].is_string()) return std::nullopt;
  identity who;
  who.user_id = claims["sub"].get<std::string>();
  if (who.user_id.empty()) return std::nullopt;
  who.name = claims.contains("name") && claims["name"].is_string() ? claims["name"].get<std::string>()
                                                                    : who.user_id;
  if (claims.contains("projects") && claims["projects"].is_array()) {
    for (const auto& p : claims["projects"]) {
      if (p.is_string()) who.projects.insert(p.get<std::string>());
      else if (p.is_number_integer()) who.projects.insert(p.dump());
    }
  }
  return who;
}

std::optional<std::variant<identity, authenticator::anonymous>>
authenticator::authenticate(const json& auth) const {
  if (auth.contains("token")) {
    if (!auth["token"].is_string()) return std::nullopt;
    if (auto who = verify_token(auth["token"].get<std::string>())) return *who;
    return std::nullopt;
  }
  if (!dev_) return std::nullopt;
  if (auth.contains("userId")) {
    const auto& id = auth["userId"];
    identity who;
    if (id.is_string()) who.user_id = id.get<std::string>();
    else if (id.is_number_integer()) who.user_id = id.dump();
    if (who.user_id.empty()) return std::nullopt;
    who.name = auth.contains("userName") && auth["userName"].is_string()
                 ? auth["userName"].get<std::string>() : who.user_id;
    who.all_projects = true;
    return who;
  }
  return anonymous{};
}

std::optional<identity> authenticator::from_bearer(const std::string& header) const {
  static constexpr std::string_view prefix = "Bearer ";
  if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0)
    return std::nullopt;
  return verify_token(header.substr(prefix.size()));
}

std::string authenticator::sign(const identity& who, std::chrono::seconds ttl) const {
  using namespace jwt::params;
  jwt::jwt_object obj{algorithm("HS256"), secret(secret_)};
  obj.add_claim("sub", who.user_id);
  obj.add_claim("name", who.name);
  std::vector<std::string> projects(who.projects.begin(), who.projects.end());
  obj.payload().add_claim("projects", projects);
  obj.add_claim("exp", std::chrono::system_clock::now() + ttl);
  return obj.signature();
}

}  // namespace hub::app
