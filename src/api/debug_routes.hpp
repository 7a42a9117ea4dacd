#pragma once
// Routes that exist only when STUDIO_TEST_ROUTES=1, for the functional tests of the server core
// (slow requests during shutdown, SSE streams, unexpected failures). Never enabled by default.
//   GET /debug/sleep?ms=N       holds a blocking-pool thread for N ms (max 60000), then 200
//   GET /debug/events?n=N&gap=MS   an SSE stream of N "tick" events MS apart
//   GET /debug/fail             throws an unexpected exception (→ 500 without internals)
//   POST /debug/echo            echoes a JSON body
//   GET /debug/routes           the registered routes with their access policy rows

#include "http/router.hpp"

namespace studio::api {

void AddDebugRoutes(http::Router& router);
/// GET /debug/routes: every registered route with its row of the access policy (for the route ×
/// role matrix test). Register it last; it reads the router at request time.
void AddRouteListing(http::Router& router);

}  // namespace studio::api
