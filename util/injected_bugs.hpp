// Deliberate bugs for proving that hub-sim's invariants can fail. Compiled in only
// with -DHUB_SIM_BUGS=ON (CMake option); otherwise injected_bug() is constant false
// and the hooks vanish. Enabled by `hub-sim --inject-bug NAME`.
#pragma once

#include <string>
#include <string_view>

namespace hub {

#ifdef HUB_SIM_BUGS
std::string& injected_bug_name();
inline bool injected_bug(std::string_view name) { return injected_bug_name() == name; }
#else
constexpr bool injected_bug(std::string_view) { return false; }
#endif

}  // namespace hub
