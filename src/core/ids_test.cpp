#include "core/ids.hpp"

#include <gtest/gtest.h>

#include <set>

namespace studio {
namespace {

TEST(NewId, HasPrefixLengthAndIsUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = NewId("wks_");
    ASSERT_EQ(id.rfind("wks_", 0), 0u);
    ASSERT_EQ(id.size(), 4u + 22u);
    ASSERT_TRUE(seen.insert(id).second);
  }
}

TEST(NewRequestId, IsSaneAndUnique) {
  auto a = NewRequestId();
  auto b = NewRequestId();
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsSaneRequestId(a));
  EXPECT_EQ(a.size(), 28u);
}

TEST(IsSaneRequestId, RejectsHostileValues) {
  EXPECT_TRUE(IsSaneRequestId("abc-123_X.y:z"));
  EXPECT_FALSE(IsSaneRequestId(""));
  EXPECT_FALSE(IsSaneRequestId(std::string(129, 'a')));
  EXPECT_FALSE(IsSaneRequestId("a b"));
  EXPECT_FALSE(IsSaneRequestId("a\r\nSet-Cookie: x"));
  EXPECT_FALSE(IsSaneRequestId("\"quoted\""));
}

}  // namespace
}  // namespace studio
