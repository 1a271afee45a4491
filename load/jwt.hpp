// HS256 JWTs like Project Hub's backend signs (claims sub, name, projects, exp), so that
// hub-load can connect to a server that is not in development mode.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace hub::load {

std::string mint_jwt(const std::string& secret, const std::string& user_id, const std::string& name,
                     const std::vector<std::string>& projects, std::chrono::seconds ttl);

}  // namespace hub::load
