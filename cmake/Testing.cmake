# studio_add_test(name src... LIBS lib...) — a GoogleTest executable registered with CTest.
# Unit tests live next to the code they test as *_test.cpp.
function(studio_add_test name)
  cmake_parse_arguments(ARG "" "" "LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main studio_warnings)
  # The list separator must be escaped or CTest sees `LABELS unit` plus a stray property.
  string(REPLACE ";" "\\;" labels "unit;${ARG_LABELS}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${labels}")
endfunction()
