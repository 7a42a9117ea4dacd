#pragma once
// POST /api/v1/search: hybrid, vector or keyword search over the caller's workspace
// (search::Retriever does the work; this parses the request and shapes the answer).

#include "api/v1/guard.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddSearchRoutes(http::Router& router, ApiContext& ctx);

}  // namespace studio::api::v1
