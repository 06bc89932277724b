# A known-answer test whose data file is missing must fail and say which file:
#   cmake -DTEST=<test binary> -DFILE=ms-nlmp.json -DEMPTY_DIR=<dir> -P missing_vectors.cmake
# runs TEST with NLASSP_VECTORS_DIR pointing at an empty directory.
cmake_minimum_required(VERSION 3.22)
file(REMOVE_RECURSE "${EMPTY_DIR}")
file(MAKE_DIRECTORY "${EMPTY_DIR}")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env NLASSP_VECTORS_DIR=${EMPTY_DIR} WLOG_LEVEL=OFF CMOCKA_MESSAGE_OUTPUT=STDOUT ${TEST}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${TEST} passed without ${FILE}:\n${out}${err}")
endif()
string(FIND "${out}${err}" "cannot read ${EMPTY_DIR}/${FILE}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TEST} failed without naming ${EMPTY_DIR}/${FILE}:\n${out}${err}")
endif()
message(STATUS "${TEST} failed and named ${EMPTY_DIR}/${FILE}")
