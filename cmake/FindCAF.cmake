# Debian's libcaf-dev ships no CMake config and no pkg-config file.
find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIBRARY caf_core)
if(CAF_INCLUDE_DIR)  # CAF_VERSION 1706 in caf/config.hpp = 0.17.6
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _v REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX MATCH "[0-9]+" _v "${_v}")
  math(EXPR _a "${_v} / 10000")
  math(EXPR _b "(${_v} / 100) % 100")
  math(EXPR _c "${_v} % 100")
  set(CAF_VERSION "${_a}.${_b}.${_c}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF REQUIRED_VARS CAF_CORE_LIBRARY CAF_INCLUDE_DIR
                                  VERSION_VAR CAF_VERSION)
if(CAF_FOUND AND NOT TARGET CAF::core)
  find_package(Threads REQUIRED)
  add_library(CAF::core SHARED IMPORTED)
  set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}" INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
