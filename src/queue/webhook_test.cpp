#include "queue/webhook.hpp"

#include <gtest/gtest.h>

#include <string>

namespace studio::queue {
namespace {

TEST(HmacSha256Hex, MatchesRfc4231) {
  // Test cases 1 and 2 of RFC 4231.
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256Hex("", "").size(), 64u);
}

TEST(SignWebhook, SignsTimestampAndBody) {
  const std::string body = R"({"jobId":"job_1","status":"completed"})";
  const std::string header = SignWebhook("whsec_test", 1700000000, body);
  EXPECT_EQ(header, "t=1700000000,v1=" + HmacSha256Hex("whsec_test", "1700000000." + body));
  EXPECT_TRUE(VerifyWebhookSignature("whsec_test", header, body, 1700000000));
  EXPECT_TRUE(VerifyWebhookSignature("whsec_test", header, body, 1700000300));
}

TEST(SignWebhook, VerificationRejectsTamperingReplayAndGarbage) {
  const std::string body = R"({"jobId":"job_1"})";
  const std::string header = SignWebhook("secret", 1700000000, body);
  EXPECT_FALSE(VerifyWebhookSignature("other", header, body, 1700000000));
  EXPECT_FALSE(VerifyWebhookSignature("secret", header, body + " ", 1700000000));
  EXPECT_FALSE(VerifyWebhookSignature("secret", header, body, 1700000301));  // too old
  EXPECT_FALSE(VerifyWebhookSignature("secret", header, body, 1699999699));  // from the future
  // The timestamp is signed: moving it breaks the signature.
  std::string moved = header;
  moved.replace(2, 10, "1700000100");
  EXPECT_FALSE(VerifyWebhookSignature("secret", moved, body, 1700000100));
  for (const char* bad : {"", "t=,v1=00", "v1=abc,t=1", "t=17x,v1=00", "t=1700000000", "t=1700000000,v1="}) {
    EXPECT_FALSE(VerifyWebhookSignature("secret", bad, body, 1700000000)) << bad;
  }
}

}  // namespace
}  // namespace studio::queue
