#include "load/jwt.hpp"

#include <jwt/jwt.hpp>

namespace hub::load {

// The claims of a Project Hub token (apps/hub/auth.cpp signs the same way, with the
// same library).
std::string mint_jwt(const std::string& secret, const std::string& user_id, const std::string& name,
                     const std::vector<std::string>& projects, std::chrono::seconds ttl) {
  using namespace jwt::params;
  jwt::jwt_object obj{algorithm("HS256"), jwt::params::secret(secret)};
  obj.add_claim("sub", user_id);
  obj.add_claim("name", name);
  obj.payload().add_claim("projects", projects);
  obj.add_claim("exp", std::chrono::system_clock::now() + ttl);
  return obj.signature();
}

}  // namespace hub::load
