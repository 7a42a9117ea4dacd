#include "http/problem.hpp"

#include <string>

namespace studio::http {
namespace {

std::string TypeUri(std::string_view code) {
  std::string slug;
  for (char c : code) slug.push_back(c == '_' ? '-' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  return "https://softsystems.studio/problems/" + slug;
}

}  // namespace

Response ProblemResponse(const Error& error, std::string_view request_id) {
  Json body = {
      {"type", TypeUri(error.code())}, {"title", error.title()}, {"status", error.status()},
      {"detail", error.detail()},      {"code", error.code()},   {"requestId", request_id},
  };
  if (!error.errors().empty()) {
    Json list = Json::array();
    for (const auto& fe : error.errors()) list.push_back({{"field", fe.field}, {"message", fe.message}});
    body["errors"] = std::move(list);
  }
  Response r = Response::MakeJson(error.status(), body);
  r.content_type = "application/problem+json";
  r.headers = error.headers();
  return r;
}

Response ProblemFromException(const std::exception_ptr& error, std::string_view request_id) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return ProblemResponse(e, request_id);
  } catch (...) {
    return ProblemResponse(Error(500, "INTERNAL", "Internal Server Error",
                                 "The server failed to handle this request. Quote the request id when reporting it."),
                           request_id);
  }
}

}  // namespace studio::http
