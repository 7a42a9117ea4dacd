# studio_add_test(name src... LIBS lib...) — a GoogleTest executable registered with CTest.
# Unit tests live next to the code they test as *_test.cpp.
function(studio_add_test name)
  cmake_parse_arguments(ARG "" "" "LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main studio_warnings)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60)
  # Labels are set by a script of our own that CTest runs after the discovered tests are defined:
  # PROPERTIES LABELS "unit;x" would reach set_tests_properties unquoted (CMake 3.25), keeping only
  # the first label. `ctest -L unit` selects every unit test, `ctest -L search` one module's.
  set(label_script "${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake")
  file(WRITE "${label_script}"
       "if(${name}_TESTS)\n  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"unit;${ARG_LABELS}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${label_script}")
endfunction()
