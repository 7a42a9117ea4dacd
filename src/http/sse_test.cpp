#include "http/sse.hpp"

#include <gtest/gtest.h>

namespace studio::http {
namespace {

TEST(FormatSseEvent, SplitsDataLinesAndSanitizesFields) {
  EXPECT_EQ(FormatSseEvent("token", "hello"), "event: token\ndata: hello\n\n");
  EXPECT_EQ(FormatSseEvent("", "a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(FormatSseEvent("x\ny", "d", "1\r\n2"), "id: 12\nevent: xy\ndata: d\n\n");
  EXPECT_EQ(FormatSseEvent("e", ""), "event: e\ndata: \n\n");
}

}  // namespace
}  // namespace studio::http
