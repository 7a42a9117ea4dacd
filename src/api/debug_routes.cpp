#include "api/debug_routes.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "api/v1/policy.hpp"
#include "core/error.hpp"
#include "http/sse.hpp"

namespace studio::api {
namespace {

int QueryInt(const http::Request& req, std::string_view name, int fallback, int max) {
  auto v = req.Query(name);
  if (!v) return fallback;
  try {
    int n = std::stoi(std::string(*v));
    if (n < 0 || n > max) throw std::out_of_range("range");
    return n;
  } catch (const std::exception&) {
    throw BadRequest(std::string(name) + " must be an integer from 0 to " + std::to_string(max) + ".",
                     {{std::string(name), "out of range"}}, "INVALID_QUERY");
  }
}

}  // namespace

void AddDebugRoutes(http::Router& router) {
  router.Add("GET", "/debug/sleep", [](const http::Request& req) {
    int ms = QueryInt(req, "ms", 100, 60'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return http::Response::MakeJson(200, Json{{"sleptMs", ms}});
  });
  // Besides n and gap, for the tests of how a stream's handler may answer:
  //   wait=MS         prepare for MS before the first event (nothing is written meanwhile)
  //   respond=1       answer with plain JSON through SseStream::Respond instead of a stream
  //   fail_before=1   throw a 422 before the first event (→ a problem response, not a stream)
  router.AddSse("GET", "/debug/events", [](const http::Request& req, http::SseStream& stream) {
    int n = QueryInt(req, "n", 3, 1'000'000);
    int gap = QueryInt(req, "gap", 0, 60'000);
    int wait = QueryInt(req, "wait", 0, 60'000);
    if (wait > 0 && !stream.WaitFor(std::chrono::milliseconds(wait))) return;
    if (req.Query("fail_before") == "1") {
      throw Error(422, "UNPROCESSABLE", "Unprocessable Content", "The stream was asked to fail before it started.");
    }
    if (req.Query("respond") == "1") {
      stream.Respond(http::Response::MakeJson(200, Json{{"responded", true}, {"n", n}}));
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (i > 0 && gap > 0 && !stream.WaitFor(std::chrono::milliseconds(gap))) return;
      if (!stream.Send("tick", Json{{"i", i}}.dump(), std::to_string(i))) return;
    }
  });
  router.Add("GET", "/debug/fail", [](const http::Request&) -> http::Response {
    throw std::runtime_error("debug failure with secret internals: /etc/passwd");
  });
  router.Add("POST", "/debug/echo",
             [](const http::Request& req) { return http::Response::MakeJson(200, req.JsonBody()); });
}

void AddRouteListing(http::Router& router) {
  router.Add("GET", "/debug/routes", [&router](const http::Request&) {
    Json out = Json::array();
    for (const auto& r : router.routes()) {
      if (r->pattern.rfind("/debug/", 0) == 0) continue;
      const v1::RoutePolicy* p = v1::FindPolicy(r->method, r->pattern);
      Json roles = Json::array();
      for (std::string_view name : {"anonymous", "admin", "owner", "member", "agent", "service"}) {
        std::uint32_t bit = name == "anonymous" ? v1::kAnonymous : v1::RoleBitOf(name);
        if (p && (p->roles & bit) != 0) roles.push_back(name);
      }
      out.push_back(Json{{"method", r->method},
                         {"pattern", r->pattern},
                         {"hasPolicy", p != nullptr},
                         {"roles", std::move(roles)},
                         {"apiKeys", p && p->api_keys},
                         {"scope", p ? std::string(p->scope) : std::string()}});
    }
    return http::Response::MakeJson(200, out);
  });
}

}  // namespace studio::api
