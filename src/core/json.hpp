#pragma once
#include <nlohmann/json.hpp>
#include <string_view>

namespace studio {

using Json = nlohmann::json;

/// Deepest nesting a request body may have. Deeper bodies are refused while parsing, before the
/// document is built, so a 100k-deep "[[[[" costs a few microseconds and no stack.
inline constexpr int kMaxJsonDepth = 64;

/// Parses a request body. Throws BadRequest (code INVALID_JSON) naming the byte offset and the
/// problem, or (code JSON_TOO_DEEP) when nesting exceeds max_depth.
Json ParseJsonBody(std::string_view body, int max_depth = kMaxJsonDepth);

}  // namespace studio
