// Deliberate bugs for proving that hub-sim's invariants can fail. Compiled in only
// where HUB_SIM_BUGS is defined: the build of sio/ that hub-sim and the tests link
// (hub_sio_with_bugs). Everywhere else injected_bug() is constant false and the hooks
// vanish, so hub-server never carries them. Enabled by `hub-sim --inject-bug NAME`.
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
