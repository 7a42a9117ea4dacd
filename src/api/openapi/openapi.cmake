# Included from src/api/CMakeLists.txt (so the generated source belongs to that directory's
# studio_api target). docs/openapi.json is compiled into the library as a string literal; the
# build re-embeds it whenever the file changes and fails when it is not valid OpenAPI 3.1 JSON
# with the project's version (see embed.cmake).
set(STUDIO_OPENAPI_SPEC ${PROJECT_SOURCE_DIR}/docs/openapi.json)
set(STUDIO_OPENAPI_CPP ${CMAKE_CURRENT_BINARY_DIR}/openapi_embedded.cpp)
add_custom_command(
  OUTPUT ${STUDIO_OPENAPI_CPP}
  COMMAND ${CMAKE_COMMAND} -DSPEC=${STUDIO_OPENAPI_SPEC} -DOUTPUT=${STUDIO_OPENAPI_CPP}
          -DVERSION=${PROJECT_VERSION} -P ${CMAKE_CURRENT_SOURCE_DIR}/openapi/embed.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/openapi/embed.cmake ${STUDIO_OPENAPI_SPEC}
  COMMENT "Embedding docs/openapi.json"
  VERBATIM)
# The document is one long string literal; that is fine for GCC and Clang.
set_source_files_properties(${STUDIO_OPENAPI_CPP} PROPERTIES COMPILE_OPTIONS -Wno-overlength-strings)
