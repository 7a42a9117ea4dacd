#include "http/wire.hpp"

#include <gtest/gtest.h>

namespace studio::http {
namespace {

TEST(Wire, SerializesStatusHeadersLengthAndBody) {
  std::string out;
  EXPECT_TRUE(SerializeResponse(out, 200, {{"Content-Type", "application/json"}}, R"({"a":1})", false, true));
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
}

TEST(Wire, HeadKeepsLengthButNoBodyAndCloseIsAnnounced) {
  std::string out;
  SerializeResponse(out, 404, {}, "missing", true, false);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 7\r\nConnection: close\r\n\r\n");
}

TEST(Wire, NoContentHasNoLengthOrBody) {
  std::string out;
  SerializeResponse(out, 204, {{"Allow", "GET"}}, "ignored", false, true);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nAllow: GET\r\n\r\n");
}

TEST(Wire, HeaderInjectionIsDropped) {
  std::string out;
  EXPECT_FALSE(SerializeResponse(out, 200, {{"X-Ok", "1"}, {"X-Evil", "a\r\nSet-Cookie: x=1"}, {"Bad\nName", "v"}}, "",
                                 false, true));
  EXPECT_EQ(out.find("Set-Cookie"), std::string::npos);
  EXPECT_EQ(out.find("Bad"), std::string::npos);
  EXPECT_NE(out.find("X-Ok: 1\r\n"), std::string::npos);
}

TEST(Wire, UnknownStatusStillHasAReason) {
  std::string out;
  SerializeResponse(out, 599, {}, "", false, true);
  EXPECT_EQ(out.rfind("HTTP/1.1 599 ", 0), 0u);
}

}  // namespace
}  // namespace studio::http
