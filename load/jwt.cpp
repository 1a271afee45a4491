#include "load/jwt.hpp"

#include "net/protocol/base64.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace hub::load {
namespace {

std::string base64url(std::string_view bytes) {
  std::string s = base64::encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return s;
}

}  // namespace

std::string mint_jwt(const std::string& secret, const std::string& user_id, const std::string& name,
                     const std::vector<std::string>& projects, std::chrono::seconds ttl) {
  auto exp = std::chrono::duration_cast<std::chrono::seconds>(
               (std::chrono::system_clock::now() + ttl).time_since_epoch()).count();
  nlohmann::json claims = {{"sub", user_id}, {"name", name}, {"projects", projects}, {"exp", exp}};
  std::string signing_input = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &mac_len);
  return signing_input + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

}  // namespace hub::load
