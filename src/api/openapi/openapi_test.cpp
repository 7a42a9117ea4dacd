// The embedded OpenAPI document against the access policy table: every row is documented with
// the same roles, scope, credentials and endpoint limit, and nothing else is documented. The
// functional suite (tests/functional/test_openapi.py) checks the same against the running
// server's routes and validates real responses; this one fails first, in a second, without one.

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <utility>

#include "api/openapi/embedded.hpp"
#include "api/v1/policy.hpp"
#include "core/json.hpp"

namespace studio::api {
namespace {

using v1::RoutePolicy;

const Json& Doc() {
  static const Json kDoc = Json::parse(openapi::Document());
  return kDoc;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The policy's role mask as the document writes it: the names in the order RoleNames uses.
Json RolesOf(std::uint32_t mask) {
  Json out = Json::array();
  for (std::string_view name : {"anonymous", "admin", "owner", "member", "agent", "service"}) {
    std::uint32_t bit = name == "anonymous" ? v1::kAnonymous : v1::RoleBitOf(name);
    if ((mask & bit) != 0) out.push_back(name);
  }
  return out;
}

// The names of the security schemes of each requirement, e.g. {{}, {"bearerAuth"}}.
std::set<std::set<std::string>> SchemesOf(const Json& security) {
  std::set<std::set<std::string>> out;
  for (const auto& requirement : security) {
    std::set<std::string> names;
    for (const auto& [name, scopes] : requirement.items()) names.insert(name);
    out.insert(names);
  }
  return out;
}

void CollectRefs(const Json& node, std::set<std::string>& refs) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "$ref" && value.is_string()) refs.insert(value.get<std::string>());
      CollectRefs(value, refs);
    }
  } else if (node.is_array()) {
    for (const auto& value : node) CollectRefs(value, refs);
  }
}

TEST(OpenApi, IsOpenApi31WithAStrongETag) {
  EXPECT_TRUE(Doc().at("openapi").get<std::string>().starts_with("3.1."));
  EXPECT_EQ(Doc().at("info").at("title"), "Soft Systems Studio API");
  std::string_view etag = openapi::ETag();
  ASSERT_GE(etag.size(), 3U);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_FALSE(etag.starts_with("W/"));
}

TEST(OpenApi, EveryPolicyRowIsDocumentedWithItsAccessRule) {
  const Json& paths = Doc().at("paths");
  for (const RoutePolicy& p : v1::Policies()) {
    const std::string where = std::string(p.method) + " " + std::string(p.pattern);
    const std::string path(p.pattern);
    ASSERT_TRUE(paths.contains(path)) << where << " is not documented";
    ASSERT_TRUE(paths.at(path).contains(Lower(p.method))) << where << " is not documented";
    const Json& op = paths.at(path).at(Lower(p.method));

    EXPECT_EQ(op.at("x-roles"), RolesOf(p.roles)) << where;
    if (p.scope.empty()) {
      EXPECT_FALSE(op.contains("x-scope")) << where;
    } else {
      EXPECT_EQ(op.value("x-scope", ""), p.scope) << where;
    }
    if (p.per_minute == 0) {
      EXPECT_FALSE(op.contains("x-rate-limit-per-minute")) << where;
    } else {
      EXPECT_EQ(op.value("x-rate-limit-per-minute", 0U), p.per_minute) << where;
    }

    const auto schemes = SchemesOf(op.at("security"));
    if ((p.roles & v1::kAnonymous) != 0) {
      // Public: an empty list, or one whose alternatives include "no credentials".
      EXPECT_TRUE(schemes.empty() || schemes.contains({})) << where;
    } else if (std::string_view(p.pattern).starts_with("/api/v1/admin/")) {
      // Platform operations: an admin's session or the operator key (guard.cpp), never API keys.
      EXPECT_EQ(schemes, (std::set<std::set<std::string>>{{"bearerAuth"}, {"operatorKey"}})) << where;
    } else if (p.api_keys) {
      EXPECT_EQ(schemes, (std::set<std::set<std::string>>{{"bearerAuth"}, {"apiKeyHeader"}})) << where;
    } else {
      EXPECT_EQ(schemes, (std::set<std::set<std::string>>{{"bearerAuth"}})) << where;
    }
  }
}

TEST(OpenApi, DocumentsNothingThePolicyDoesNotName) {
  int operations = 0;
  for (const auto& [path, item] : Doc().at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      EXPECT_NE(v1::FindPolicy(upper, path), nullptr) << upper << " " << path << " has no policy row";
      ++operations;
    }
  }
  EXPECT_EQ(operations, static_cast<int>(v1::Policies().size()));
}

TEST(OpenApi, EveryRefResolvesInsideTheDocument) {
  std::set<std::string> refs;
  CollectRefs(Doc(), refs);
  EXPECT_GT(refs.size(), 20U);
  for (const auto& ref : refs) {
    ASSERT_TRUE(ref.starts_with("#/")) << ref;
    EXPECT_TRUE(Doc().contains(Json::json_pointer(ref.substr(1)))) << ref << " does not resolve";
  }
}

}  // namespace
}  // namespace studio::api
