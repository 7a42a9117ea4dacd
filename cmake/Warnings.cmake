# Warnings are errors in our own code; third-party headers are included as SYSTEM.
# -Wnull-dereference is left out: at -O3 it fires inside inlined Boost.Asio code.
add_library(studio_warnings INTERFACE)
target_compile_options(studio_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough -Werror)
