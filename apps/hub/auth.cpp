#include "apps/hub/auth.hpp"

#include "apps/hub/jwt_hs256.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

namespace hub::app {

std::variant<identity, jwt_hs256::failure> authenticator::check_token(const std::string& token) const {
  if (secret_.empty() || token.empty()) return jwt_hs256::failure::malformed;
  const auto now =
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto result = jwt_hs256::verify(token, rules_, now);
  if (auto* why = std::get_if<jwt_hs256::failure>(&result)) {
    log::debug("token refused: ", jwt_hs256::to_string(*why));
    metrics::refused(*why == jwt_hs256::failure::expired ? metrics::refusal::token_expired
                                                         : metrics::refusal::bad_token);
    return *why;
  }
  const json& claims = std::get<json>(result);
  identity who;
  who.user_id = claims["sub"].get<std::string>();  // verify() checked: a non-empty string
  who.expires_at = static_cast<std::int64_t>(claims["exp"].get<double>());
  if (const auto iat = claims.find("iat"); iat != claims.end() && iat->is_number())
    who.issued_at = static_cast<std::int64_t>(iat->get<double>());
  const auto name = claims.find("name");
  who.name = name != claims.end() && name->is_string() ? name->get<std::string>() : who.user_id;
  if (const auto projects = claims.find("projects"); projects != claims.end() && projects->is_array()) {
    for (const auto& p : *projects) {
      if (p.is_string())
        who.projects.insert(p.get<std::string>());
      else if (p.is_number_integer())
        who.projects.insert(p.dump());
    }
  }
  return who;
}

std::optional<identity> authenticator::verify_token(const std::string& token) const {
  auto result = check_token(token);
  if (auto* who = std::get_if<identity>(&result)) return std::move(*who);
  return std::nullopt;
}

std::variant<identity, authenticator::anonymous, authenticator::refusal> authenticator::authenticate(
  const json& auth) const {
  const refusal failed{"Authentication failed"};
  if (auth.contains("token")) {
    if (!auth["token"].is_string()) return failed;
    auto result = check_token(auth["token"].get<std::string>());
    if (auto* who = std::get_if<identity>(&result)) return std::move(*who);
    // Our own signature on a token past its time: the client needs a fresh one, it is
    // not guessing.
    if (std::get<jwt_hs256::failure>(result) == jwt_hs256::failure::expired) return refusal{"Token expired", false};
    return failed;
  }
  if (!dev_) return failed;
  if (auth.contains("userId")) {
    const auto& id = auth["userId"];
    identity who;
    if (id.is_string())
      who.user_id = id.get<std::string>();
    else if (id.is_number_integer())
      who.user_id = id.dump();
    if (who.user_id.empty()) return failed;
    who.name =
      auth.contains("userName") && auth["userName"].is_string() ? auth["userName"].get<std::string>() : who.user_id;
    who.all_projects = true;
    return who;
  }
  return anonymous{};
}

std::optional<std::chrono::system_clock::time_point> authenticator::session_end(const identity& who) const {
  if (who.expires_at <= 0) return std::nullopt;
  // One second past the last moment verify() still accepts the token.
  return std::chrono::system_clock::time_point(std::chrono::seconds(who.expires_at)) + rules_.leeway +
         std::chrono::seconds(1);
}

std::optional<identity> authenticator::from_bearer(const std::string& header) const {
  static constexpr std::string_view prefix = "Bearer ";
  if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  return verify_token(header.substr(prefix.size()));
}

std::string authenticator::sign(const identity& who, std::chrono::seconds ttl) const {
  const auto exp =
    std::chrono::duration_cast<std::chrono::seconds>((std::chrono::system_clock::now() + ttl).time_since_epoch())
      .count();
  json projects = json::array();
  for (const auto& p : who.projects) projects.push_back(p);
  const auto iat =
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  json claims{{"sub", who.user_id}, {"name", who.name}, {"projects", std::move(projects)}, {"exp", exp}, {"iat", iat}};
  if (rules_.issuer) claims["iss"] = *rules_.issuer;
  if (rules_.audience) claims["aud"] = *rules_.audience;
  return jwt_hs256::sign(claims, secret_);
}

}  // namespace hub::app
