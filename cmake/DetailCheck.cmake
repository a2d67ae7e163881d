# Each module's detail/ headers are private to it (STYLE.md "Layout and dependencies"): a
# file under src/X/ or tests/unit/X/ may include "X/.../detail/...", and nothing else may
# include any "Y/.../detail/...". Run by ctest (detail_check):
#   cmake -DROOT=<source dir> -P DetailCheck.cmake
if(NOT ROOT)
  message(FATAL_ERROR "DetailCheck: pass -DROOT=<source dir>")
endif()
file(GLOB_RECURSE files RELATIVE ${ROOT}
  ${ROOT}/src/*.hpp ${ROOT}/src/*.cpp ${ROOT}/tests/*.hpp ${ROOT}/tests/*.cpp
  ${ROOT}/bench/*.hpp ${ROOT}/bench/*.cpp)
set(bad "")
# The checker's own fixture (a violation on purpose) is not part of the tree.
list(FILTER files EXCLUDE REGEX "^tests/detail_check/")
foreach(f IN LISTS files)
  # The module a file belongs to: src/X/... or tests/unit/X/...; other files have none.
  set(own "")
  if(f MATCHES "^src/([^/]+)/")
    set(own ${CMAKE_MATCH_1})
  elseif(f MATCHES "^tests/unit/([^/]+)/")
    set(own ${CMAKE_MATCH_1})
  endif()
  file(STRINGS ${ROOT}/${f} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<][^\">]*/detail/")
  foreach(line IN LISTS lines)
    string(REGEX MATCH "[\"<]([^/\">]+)/[^\">]*detail/" m "${line}")
    set(target ${CMAKE_MATCH_1})
    if(NOT target STREQUAL own)
      string(STRIP "${line}" line)
      list(APPEND bad "${f}: ${line}")
    endif()
  endforeach()
endforeach()
if(bad)
  list(JOIN bad "\n  " text)
  message(FATAL_ERROR "detail/ headers included from outside their module:\n  ${text}")
endif()
list(LENGTH files n)
message(STATUS "detail_check: ${n} files, no detail/ header included across modules")
