#include "api/v1/body.hpp"

#include <vector>

#include "core/error.hpp"

namespace studio::api::v1 {

using http::Request;

std::string RequiredString(const Json& body, const char* field, std::size_t max) {
  auto it = body.find(field);
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw ValidationFailed(std::string("The field '") + field + "' is required.", {{field, "is required"}});
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max)
    throw ValidationFailed(std::string("The field '") + field + "' is too long.", {{field, "too long"}});
  return s;
}

std::optional<std::string> OptionalString(const Json& body, const char* field, std::size_t max) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    throw ValidationFailed(std::string("The field '") + field + "' must be a string.", {{field, "must be a string"}});
  if (it->get_ref<const std::string&>().size() > max) {
    throw ValidationFailed(std::string("The field '") + field + "' is too long.", {{field, "too long"}});
  }
  return it->get<std::string>();
}

Json ObjectBody(const Request& req) {
  Json body = req.JsonBody();
  if (!body.is_object()) throw BadRequest("The request body must be a JSON object.", {{"body", "must be an object"}});
  return body;
}

void RejectUnknownFields(const Json& body, std::initializer_list<std::string_view> allowed) {
  std::vector<FieldError> errors;
  std::string names;
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == key;
    if (ok) continue;
    errors.push_back({key, "cannot be set"});
    names += (names.empty() ? "" : ", ") + key;
  }
  if (!errors.empty())
    throw BadRequest("These fields cannot be set: " + names + ".", std::move(errors), "UNKNOWN_FIELDS");
}

void CheckBodyWorkspace(const Json& body, const std::string& workspace_id) {
  if (auto it = body.find("workspaceId"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>() != workspace_id) {
      throw Forbidden("'workspaceId' names another workspace than the credentials.", "WORKSPACE_MISMATCH");
    }
  }
}

}  // namespace studio::api::v1
