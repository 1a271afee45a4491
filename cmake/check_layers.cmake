# Fails the build when a file includes a layer above its own (docs/architecture.md,
# "Layers"). Run by every build before the libraries (the hub_layers target) and by
# hand: cmake -DROOT=. -P cmake/check_layers.cmake
#
# Each rule: a folder, then what its files may include from the project ("util/" is a
# folder, "net/transport/seam.hpp" one header), then the system headers they must not
# include. A folder's own files are always allowed.
cmake_policy(SET CMP0007 NEW)
set(HUB_LAYERS
  "util|"
  "protocol|util/"
  "storage|util/"
  "net|protocol/ util/"
  "sio|protocol/ storage/ util/ net/transport/seam.hpp net/redis/pubsub_seam.hpp"
  "apps/echo|sio/ protocol/ util/ net/transport/seam.hpp"
  "apps/hub|sio/ storage/ protocol/ util/ net/transport/seam.hpp net/http/http_types.hpp"
  "load|protocol/ util/"
  "sim|apps/ sio/ storage/ protocol/ util/ net/transport/seam.hpp net/redis/pubsub_seam.hpp"
  "server|apps/ sio/ storage/ net/ protocol/ util/")
# System headers a layer must not reach for: what it does not know.
set(HUB_FORBIDDEN_SYSTEM
  "util|caf/ boost/ rocksdb/"
  "protocol|caf/ boost/ rocksdb/"
  "storage|boost/"
  "net|caf/ rocksdb/"
  "sio|boost/ rocksdb/"
  "apps/echo|boost/ rocksdb/"
  "apps/hub|boost/ rocksdb/"
  "load|caf/ rocksdb/"
  "sim|boost/ rocksdb/")

if(NOT ROOT)
  set(ROOT ${CMAKE_CURRENT_LIST_DIR}/..)
endif()

function(rule_for list folder out)
  set(best "")
  set(best_len 0)
  foreach(rule IN LISTS ${list})
    string(REPLACE "|" ";" parts "${rule}")
    list(GET parts 0 dir)
    string(LENGTH "${dir}" len)
    if((folder STREQUAL dir OR folder MATCHES "^${dir}/") AND len GREATER best_len)
      list(LENGTH parts n)
      if(n GREATER 1)
        list(GET parts 1 allowed)
      else()
        set(allowed "")
      endif()
      set(best "${dir}|${allowed}")
      set(best_len ${len})
    endif()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

set(errors "")
file(GLOB_RECURSE files RELATIVE ${ROOT}
     ${ROOT}/util/*.?pp ${ROOT}/protocol/*.?pp ${ROOT}/storage/*.?pp ${ROOT}/net/*.?pp ${ROOT}/sio/*.?pp
     ${ROOT}/apps/*.?pp ${ROOT}/load/*.?pp ${ROOT}/sim/*.?pp ${ROOT}/server/*.?pp)
foreach(f IN LISTS files)
  get_filename_component(folder ${f} DIRECTORY)
  rule_for(HUB_LAYERS "${folder}" rule)
  if(rule STREQUAL "")
    string(APPEND errors "  ${f}: its folder has no layer rule in cmake/check_layers.cmake\n")
    continue()
  endif()
  string(REPLACE "|" ";" parts "${rule}")
  list(GET parts 0 own)
  list(LENGTH parts n)
  set(allowed "")
  if(n GREATER 1)
    list(GET parts 1 allowed)
    separate_arguments(allowed UNIX_COMMAND "${allowed}")
  endif()
  rule_for(HUB_FORBIDDEN_SYSTEM "${folder}" forbidden_rule)
  set(forbidden "")
  if(NOT forbidden_rule STREQUAL "")
    string(REPLACE "|" ";" fparts "${forbidden_rule}")
    list(LENGTH fparts fn)
    if(fn GREATER 1)
      list(GET fparts 1 forbidden)
      separate_arguments(forbidden UNIX_COMMAND "${forbidden}")
    endif()
  endif()

  file(STRINGS ${ROOT}/${f} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line IN LISTS includes)
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      set(inc ${CMAKE_MATCH_1})
      if(NOT inc MATCHES "/")
        continue()  # a sibling header, by its bare name
      endif()
      set(ok FALSE)
      if(inc MATCHES "^${own}/")
        set(ok TRUE)
      endif()
      foreach(a IN LISTS allowed)
        if(a MATCHES "/$")
          string(FIND "${inc}" "${a}" pos)
          if(pos EQUAL 0)
            set(ok TRUE)
          endif()
        elseif(inc STREQUAL a)
          set(ok TRUE)
        endif()
      endforeach()
      if(NOT ok)
        string(APPEND errors "  ${f}: includes \"${inc}\", which ${own}/ may not (layer rule: ${rule})\n")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*<([^>]+)>")
      set(inc ${CMAKE_MATCH_1})
      foreach(x IN LISTS forbidden)
        string(FIND "${inc}" "${x}" pos)
        if(pos EQUAL 0)
          string(APPEND errors "  ${f}: includes <${inc}>, which ${own}/ does not know\n")
        endif()
      endforeach()
    endif()
  endforeach()
endforeach()

if(NOT errors STREQUAL "")
  message(FATAL_ERROR "Upward or foreign includes (see docs/architecture.md, \"Layers\"):\n${errors}")
endif()
if(STAMP)
  file(TOUCH ${STAMP})
endif()
