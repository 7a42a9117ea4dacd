#include "api/v1/openapi_routes.hpp"

#include <string>
#include <string_view>

#include "api/openapi/embedded.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

// RFC 9110 §13.1.2: If-None-Match is "*" or a comma list of entity tags, compared weakly
// (a W/ prefix does not matter for a GET).
bool MatchesETag(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

}  // namespace

void AddOpenApiRoutes(http::Router& router, ApiContext& ctx) {
  // Answered from memory on the io thread; still guarded, so the per-IP limit applies as on
  // every other /api/v1 route.
  http::RouteOptions inline_route{.execution = http::Execution::kInline};
  AddGuarded(
      router, ctx, "GET", "/api/v1/openapi.json",
      [](Request& req, const Caller&) {
        const std::string_view etag = openapi::ETag();
        Response res;
        if (auto header = req.Header("If-None-Match"); header && MatchesETag(*header, etag)) {
          res = Response::Text(304, "", "");  // no body, so no Content-Type
        } else {
          res = Response::Text(200, "application/json", std::string(openapi::Document()));
        }
        // The document changes only with the binary; a short max-age bounds how long a client
        // keeps an old one after an upgrade, and the ETag makes revalidation cheap.
        res.headers.emplace_back("Cache-Control", "public, max-age=300");
        res.headers.emplace_back("ETag", std::string(etag));
        return res;
      },
      inline_route);
}

}  // namespace studio::api::v1
