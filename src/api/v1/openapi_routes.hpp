#pragma once
// The API's own description:
//   GET /api/v1/openapi.json   the OpenAPI 3.1 document of every route (docs/openapi.json,
//                              embedded at build time), public and cacheable, with an ETag

#include "api/v1/guard.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddOpenApiRoutes(http::Router& router, ApiContext& context);

}  // namespace studio::api::v1
