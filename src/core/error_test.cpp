#include "core/error.hpp"

#include <gtest/gtest.h>

namespace studio {
namespace {

TEST(Error, TypedErrorsCarryStatusAndCode) {
  EXPECT_EQ(NotFound().status(), 404);
  EXPECT_EQ(NotFound().code(), "NOT_FOUND");
  EXPECT_EQ(PayloadTooLarge("x").status(), 413);
  EXPECT_EQ(UnsupportedMediaType("x").status(), 415);
  EXPECT_EQ(Conflict("x").status(), 409);
  ServiceUnavailable busy("busy", 2);
  EXPECT_EQ(busy.status(), 503);
  ASSERT_EQ(busy.headers().size(), 1u);
  EXPECT_EQ(busy.headers()[0].first, "Retry-After");
  EXPECT_EQ(busy.headers()[0].second, "2");
}

}  // namespace
}  // namespace studio
