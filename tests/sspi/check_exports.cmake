# cmake -DMODULE=path/libnlassp.so -P check_exports.cmake: fails unless the module's defined
# dynamic symbols are exactly InitSecurityInterfaceA and InitSecurityInterfaceW.
find_program(NM nm REQUIRED)
execute_process(COMMAND ${NM} -D --defined-only ${MODULE}
  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${MODULE}")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${out}")
set(names "")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^.* [A-Za-z] " "" name "${line}")
  list(APPEND names "${name}")
endforeach()
list(SORT names)
if(NOT names STREQUAL "InitSecurityInterfaceA;InitSecurityInterfaceW")
  message(FATAL_ERROR "unexpected exports of ${MODULE}: ${names}")
endif()
message(STATUS "exports: ${names}")
