#include "auth/verified_tokens.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace studio::auth {
namespace {

std::shared_ptr<const AccessClaims> Claims(std::string sub, std::int64_t exp) {
  auto c = std::make_shared<AccessClaims>();
  c->sub = std::move(sub);
  c->exp = exp;
  return c;
}

TEST(VerifiedTokens, FindsOnlyTheExactTokenUntilItExpires) {
  VerifiedTokens cache;
  cache.Put("aaa.bbb.sig", Claims("usr_1", 1000));
  ASSERT_NE(cache.Find("aaa.bbb.sig", 900), nullptr);
  EXPECT_EQ(cache.Find("aaa.bbb.sig", 900)->sub, "usr_1");
  // Any other byte is another token (e.g. a forged payload with a copied signature).
  EXPECT_EQ(cache.Find("aaa.bbX.sig", 900), nullptr);
  EXPECT_EQ(cache.Find("aaa.bbb.si", 900), nullptr);
  // Expired with the same leeway as JwtSigner::Verify: valid until exp + leeway, exclusive.
  EXPECT_NE(cache.Find("aaa.bbb.sig", 1000 + kJwtLeewaySeconds - 1), nullptr);
  EXPECT_EQ(cache.Find("aaa.bbb.sig", 1000 + kJwtLeewaySeconds), nullptr);
}

TEST(VerifiedTokens, StartsOverWhenFull) {
  VerifiedTokens cache(3);
  for (int i = 0; i < 3; ++i) cache.Put("t" + std::to_string(i), Claims("u", 1000));
  EXPECT_EQ(cache.size(), 3u);
  cache.Put("t3", Claims("u", 1000));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(cache.Find("t3", 0), nullptr);
  EXPECT_EQ(cache.Find("t0", 0), nullptr);
}

TEST(VerifiedTokens, IsSafeFromManyThreads) {
  VerifiedTokens cache(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string token = "tok" + std::to_string((t * 7 + i) % 100);
        if (auto c = cache.Find(token, 0)) {
          EXPECT_EQ(c->sub, token);
        } else {
          cache.Put(token, Claims(token, 1000));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(cache.size(), 64u);
}

}  // namespace
}  // namespace studio::auth
