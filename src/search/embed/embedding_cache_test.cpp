#include "search/embed/embedding_cache.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace studio::search {
namespace {

TEST(EmbeddingCacheKey, IsModelPlusSha256OfTheText) {
  EXPECT_EQ(EmbeddingCacheKey("m@3", "abc"), "m@3:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(EmbeddingCacheKey("m@3", "abc"), EmbeddingCacheKey("m@4", "abc"));
}

TEST(LruEmbeddingCache, ReturnsWhatWasPutAndMissesTheRest) {
  LruEmbeddingCache cache(10);
  const std::vector<std::string> keys = {"a", "b"};
  const std::vector<Vector> vectors = {{1, 0}, {0, 1}};
  cache.Put(keys, vectors);
  const std::vector<std::string> wanted = {"b", "x", "a"};
  const auto got = cache.Get(wanted);
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0], (Vector{0, 1}));
  EXPECT_FALSE(got[1].has_value());
  EXPECT_EQ(got[2], (Vector{1, 0}));
}

TEST(LruEmbeddingCache, EvictsTheLeastRecentlyUsed) {
  LruEmbeddingCache cache(2);
  const std::vector<std::string> a = {"a"}, b = {"b"}, c = {"c"};
  cache.Put(a, std::vector<Vector>{{1}});
  cache.Put(b, std::vector<Vector>{{2}});
  EXPECT_TRUE(cache.Get(a)[0].has_value());  // a is now more recent than b
  cache.Put(c, std::vector<Vector>{{3}});
  EXPECT_EQ(cache.size(), 2U);
  EXPECT_TRUE(cache.Get(a)[0].has_value());
  EXPECT_FALSE(cache.Get(b)[0].has_value());
  EXPECT_EQ(cache.Get(c)[0], Vector{3});
}

TEST(LruEmbeddingCache, PutOfAnExistingKeyReplacesIt) {
  LruEmbeddingCache cache(2);
  const std::vector<std::string> a = {"a"};
  cache.Put(a, std::vector<Vector>{{1}});
  cache.Put(a, std::vector<Vector>{{5}});
  EXPECT_EQ(cache.size(), 1U);
  EXPECT_EQ(cache.Get(a)[0], Vector{5});
}

TEST(LruEmbeddingCache, RejectsBadArguments) {
  EXPECT_THROW(LruEmbeddingCache{0}, std::invalid_argument);
  LruEmbeddingCache cache(1);
  const std::vector<std::string> keys = {"a", "b"};
  EXPECT_THROW(cache.Put(keys, std::vector<Vector>{{1}}), std::invalid_argument);
}

}  // namespace
}  // namespace studio::search
