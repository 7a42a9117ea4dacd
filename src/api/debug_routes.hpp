#pragma once
// Routes that exist only when STUDIO_TEST_ROUTES=1, for the functional tests of the server core
// (slow requests during shutdown, SSE streams, unexpected failures). Never enabled by default.
//   GET /debug/sleep?ms=N       holds a blocking-pool thread for N ms (max 60000), then 200
//   GET /debug/events?n=N&gap=MS   an SSE stream of N "tick" events MS apart
//   GET /debug/fail             throws an unexpected exception (→ 500 without internals)
//   POST /debug/echo            echoes a JSON body

#include "http/router.hpp"

namespace studio::api {

void AddDebugRoutes(http::Router& router);

}  // namespace studio::api
