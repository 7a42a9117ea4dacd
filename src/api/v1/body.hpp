#pragma once
// Request-body helpers shared by the v1 routes: each throws a 400 problem naming the field.

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "http/request.hpp"

namespace studio::api::v1 {

/// A non-empty string field of at most `max` bytes.
std::string RequiredString(const Json& body, const char* field, std::size_t max = 1024);
/// Absent or null → nullopt; otherwise a string of at most `max` bytes.
std::optional<std::string> OptionalString(const Json& body, const char* field, std::size_t max = 1024);
/// The body as a JSON object.
Json ObjectBody(const http::Request& req);
/// 400 UNKNOWN_FIELDS naming every field of `body` not in `allowed`: clients cannot set what they
/// may not (mass assignment), and a typo does not silently do nothing.
void RejectUnknownFields(const Json& body, std::initializer_list<std::string_view> allowed);

/// A seed-style body's `workspaceId`, when given, must be the caller's workspace (the guard checks
/// the X-Workspace-ID header): 403 WORKSPACE_MISMATCH otherwise.
void CheckBodyWorkspace(const Json& body, const std::string& workspace_id);

}  // namespace studio::api::v1
