#include "api/v1/policy.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace studio::api::v1 {
namespace {

TEST(ScopesAllow, EmptyListOrUnscopedRouteAllows) {
  EXPECT_TRUE(ScopesAllow({}, "members:write"));
  EXPECT_TRUE(ScopesAllow({"usage:read"}, ""));
}

TEST(ScopesAllow, ExactResourceWildcardAndStar) {
  EXPECT_TRUE(ScopesAllow({"usage:read", "members:write"}, "members:write"));
  EXPECT_FALSE(ScopesAllow({"members:read"}, "members:write"));
  EXPECT_TRUE(ScopesAllow({"members:*"}, "members:write"));
  EXPECT_FALSE(ScopesAllow({"member:*"}, "members:write"));  // a prefix of the resource is not the resource
  EXPECT_FALSE(ScopesAllow({"members:*x"}, "members:write"));
  EXPECT_TRUE(ScopesAllow({"*"}, "audit:read"));
}

TEST(IsKnownScope, OnlyScopesTheTableNames) {
  EXPECT_TRUE(IsKnownScope("members:read"));
  EXPECT_TRUE(IsKnownScope("members:*"));
  EXPECT_TRUE(IsKnownScope("*"));
  EXPECT_FALSE(IsKnownScope("members:fly"));
  EXPECT_FALSE(IsKnownScope("nothing:*"));
  EXPECT_FALSE(IsKnownScope(""));
  auto known = KnownScopes();
  EXPECT_TRUE(std::is_sorted(known.begin(), known.end()));
  EXPECT_NE(std::find(known.begin(), known.end(), "audit:read"), known.end());
}

TEST(Policies, EveryKeyCallablePrivateRouteNamesAScope) {
  for (const auto& p : Policies()) {
    const bool needs_scope = p.api_keys && (p.roles & kAnonymous) == 0;
    EXPECT_EQ(needs_scope, !p.scope.empty()) << p.method << " " << p.pattern;
  }
}

}  // namespace
}  // namespace studio::api::v1
