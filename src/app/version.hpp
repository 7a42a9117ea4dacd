#pragma once
// Build identity, baked in at compile time (only version.cpp sees the definitions, so a new
// commit recompiles one file).

#include <string_view>

namespace studio::app {

std::string_view Version();
std::string_view Commit();

}  // namespace studio::app
