#include "apps/hub/auth.hpp"

#include "apps/hub/jwt_hs256.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

namespace hub::app {

std::optional<identity> authenticator::verify_token(const std::string& token) const {
  if (secret_.empty() || token.empty()) return std::nullopt;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  auto result = jwt_hs256::verify(token, rules_, now);
  if (auto* why = std::get_if<jwt_hs256::failure>(&result)) {
    log::debug("token refused: ", jwt_hs256::to_string(*why));
    metrics::refused(metrics::refusal::bad_token);
    return std::nullopt;
  }
  const json& claims = std::get<json>(result);
  identity who;
  who.user_id = claims["sub"].get<std::string>();  // verify() checked: a non-empty string
  who.expires_at = static_cast<std::int64_t>(claims["exp"].get<double>());
  const auto name = claims.find("name");
  who.name = name != claims.end() && name->is_string() ? name->get<std::string>() : who.user_id;
  if (const auto projects = claims.find("projects"); projects != claims.end() && projects->is_array()) {
    for (const auto& p : *projects) {
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
  const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                     (std::chrono::system_clock::now() + ttl).time_since_epoch()).count();
  json projects = json::array();
  for (const auto& p : who.projects) projects.push_back(p);
  json claims{{"sub", who.user_id}, {"name", who.name}, {"projects", std::move(projects)}, {"exp", exp}};
  if (rules_.issuer) claims["iss"] = *rules_.issuer;
  if (rules_.audience) claims["aud"] = *rules_.audience;
  return jwt_hs256::sign(claims, secret_);
}

}  // namespace hub::app
