// The selected bug, in the builds that have the hooks (util/injected_bugs.hpp).
#include "util/injected_bugs.hpp"

namespace hub {

std::string& injected_bug_name() {
  static std::string name;
  return name;
}

}  // namespace hub
