#pragma once
// docs/openapi.json, compiled into the binary by embed.cmake at build time. Served verbatim by
// GET /api/v1/openapi.json (api/v1/openapi_routes.hpp).

#include <string_view>

namespace studio::api::openapi {

/// The whole document, byte for byte as in docs/openapi.json.
std::string_view Document();
/// A strong entity tag for the document, quoted as HTTP wants it: "\"3f1c…\"".
std::string_view ETag();

}  // namespace studio::api::openapi
