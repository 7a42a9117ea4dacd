#pragma once
// The request and response types handlers see. Deliberately free of Beast/Asio so handler
// translation units stay light; the server copies from Beast's parser into these.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.hpp"

namespace studio::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Case-insensitive header lookup; the first match wins.
std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name);
bool IEquals(std::string_view a, std::string_view b);

struct Request {
  std::string method;                                      // "GET", "POST", …
  std::string target;                                      // raw request target, e.g. "/api/v1/x?a=1"
  std::string path;                                        // percent-decoded path without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  Headers headers;
  std::string body;
  /// Upload routes (RouteOptions::upload_to_file) with a multipart/form-data body: the body was
  /// streamed to this temp file and `body` is empty. The server owns the file and deletes it as soon
  /// as the handler returns (or throws): copy what must outlive the request. Empty otherwise.
  std::string body_file;
  std::uint64_t body_file_size = 0;                         // bytes in body_file
  std::vector<std::pair<std::string, std::string>> params;  // path parameters from the route template
  std::string route;                                        // the matched route template
  std::string request_id;
  std::string remote_addr;
  std::chrono::steady_clock::time_point received_at;

  std::optional<std::string_view> Header(std::string_view name) const { return FindHeader(headers, name); }
  /// Path parameter by name; throws std::out_of_range when the route has no such parameter.
  const std::string& Param(std::string_view name) const;
  std::optional<std::string_view> Query(std::string_view name) const;
  /// The body parsed as JSON (depth-bounded). Throws BadRequest on malformed input.
  Json JsonBody() const;
};

struct Response {
  int status = 200;
  std::string content_type;  // empty = no body
  std::string body;
  Headers headers;

  static Response MakeJson(int status, const Json& body);
  static Response NoContent();
  static Response Text(int status, std::string content_type, std::string body);
};

}  // namespace studio::http
