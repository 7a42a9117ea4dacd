#include "search/index/fusion.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace studio::search {
namespace {

std::vector<std::int64_t> Ids(const std::vector<FusedHit>& hits) {
  std::vector<std::int64_t> ids;
  ids.reserve(hits.size());
  for (const auto& h : hits) ids.push_back(h.id);
  return ids;
}

TEST(FusionTest, ReciprocalRankFusionByHand) {
  const std::vector<std::vector<Hit>> lists{
      {{1, 9.0f}, {2, 8.0f}, {3, 7.0f}},  // keyword: bm25-like scores
      {{3, 0.9f}, {1, 0.8f}, {4, 0.7f}},  // vector: cosine
  };
  const auto fused = ReciprocalRankFusion(lists);
  // 1: 1/61 + 1/62 = 0.032522; 3: 1/63 + 1/61 = 0.032266; 2: 1/62; 4: 1/63.
  ASSERT_EQ(Ids(fused), (std::vector<std::int64_t>{1, 3, 2, 4}));
  EXPECT_NEAR(fused[0].score, 1.0 / 61 + 1.0 / 62, 1e-12);
  EXPECT_NEAR(fused[1].score, 1.0 / 63 + 1.0 / 61, 1e-12);
  EXPECT_NEAR(fused[2].score, 1.0 / 62, 1e-12);
  EXPECT_NEAR(fused[3].score, 1.0 / 63, 1e-12);
  // Per-list ranks and scores are kept for explanations.
  ASSERT_EQ(fused[1].lists.size(), 2u);
  EXPECT_EQ(fused[1].lists[0], (ListRank{3, 7.0f}));
  EXPECT_EQ(fused[1].lists[1], (ListRank{1, 0.9f}));
  EXPECT_EQ(fused[2].lists[1], std::nullopt);
  EXPECT_EQ(fused[3].lists[0], std::nullopt);
}

TEST(FusionTest, WeightsScaleEachListsContribution) {
  const std::vector<std::vector<Hit>> lists{
      {{1, 0.9f}, {2, 0.8f}},  // vector
      {{2, 9.0f}, {3, 8.0f}},  // keyword
  };
  // Equal weights: 2 is in both lists and wins; then 1 (a first place) before 3.
  EXPECT_EQ(Ids(ReciprocalRankFusion(lists)), (std::vector<std::int64_t>{2, 1, 3}));
  // The vector list at a quarter: the keyword list's second place (3) now beats its first (1).
  const double weights[] = {0.25, 1.0};
  const auto fused = ReciprocalRankFusion(lists, kDefaultRrfK, weights);
  ASSERT_EQ(Ids(fused), (std::vector<std::int64_t>{2, 3, 1}));
  EXPECT_NEAR(fused[0].score, 0.25 / 62 + 1.0 / 61, 1e-12);
  EXPECT_NEAR(fused[2].score, 0.25 / 61, 1e-12);
  const double one[] = {1.0};
  EXPECT_THROW(ReciprocalRankFusion(lists, kDefaultRrfK, one), std::invalid_argument);
  const double negative[] = {-1.0, 1.0};
  EXPECT_THROW(ReciprocalRankFusion(lists, kDefaultRrfK, negative), std::invalid_argument);
}

TEST(FusionTest, TiesGoToTheBetterRankThenTheLowerId) {
  // k = 0: id 1 scores 1/2 + 1/2 = 1 from two second places; ids 10 and 5 score 1/1 from a first place.
  const std::vector<std::vector<Hit>> lists{{{10, 1}, {1, 1}}, {{5, 1}, {1, 1}}};
  EXPECT_EQ(Ids(ReciprocalRankFusion(lists, 0)), (std::vector<std::int64_t>{5, 10, 1}));
}

TEST(FusionTest, RepeatedIdCountsOnceAtItsBestRank) {
  const std::vector<std::vector<Hit>> lists{{{1, 3}, {1, 2}, {2, 1}}};
  const auto fused = ReciprocalRankFusion(lists);
  ASSERT_EQ(Ids(fused), (std::vector<std::int64_t>{1, 2}));
  EXPECT_NEAR(fused[0].score, 1.0 / 61, 1e-12);
  EXPECT_NEAR(fused[1].score, 1.0 / 63, 1e-12);
  EXPECT_EQ(fused[1].lists[0], (ListRank{3, 1.0f}));
}

TEST(FusionTest, EmptyInputs) {
  EXPECT_TRUE(ReciprocalRankFusion({}).empty());
  const std::vector<std::vector<Hit>> lists{{}, {{4, 1}}};
  const auto fused = ReciprocalRankFusion(lists);
  ASSERT_EQ(fused.size(), 1u);
  EXPECT_EQ(fused[0].lists[0], std::nullopt);
}

TEST(FusionTest, CosineSimilarity) {
  const std::vector<float> a{3, 4}, b{4, 3}, zero{0, 0}, three{1, 2, 3};
  EXPECT_NEAR(CosineSimilarity(a, b), 24.0 / 25.0, 1e-12);
  EXPECT_NEAR(CosineSimilarity(a, a), 1.0, 1e-12);
  EXPECT_EQ(CosineSimilarity(a, zero), 0.0);
  EXPECT_EQ(CosineSimilarity(a, {}), 0.0);
  EXPECT_THROW(CosineSimilarity(a, three), std::invalid_argument);
}

TEST(FusionTest, MmrTradesRelevanceForDiversity) {
  const std::vector<float> east{1, 0}, north{0, 1};
  // Relevance rescales to a = 1, b = 0.8, c = 0. b duplicates a (cosine 1); c is orthogonal.
  const std::vector<Candidate> candidates{{1, 1.0, east}, {2, 0.9, east}, {3, 0.5, north}};
  // lambda 0.5: a (0.5); then b = 0.4 - 0.5 = -0.1 < c = 0 - 0 = 0, so c; then b.
  EXPECT_EQ(MaximalMarginalRelevance(candidates, 3, 0.5), (std::vector<std::size_t>{0, 2, 1}));
  // lambda 0.9: b = 0.72 - 0.1 = 0.62 > c = 0, so relevance wins.
  EXPECT_EQ(MaximalMarginalRelevance(candidates, 3, 0.9), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(MaximalMarginalRelevance(candidates, 3, 1.0), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(MaximalMarginalRelevance(candidates, 2, 0.5), (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(MaximalMarginalRelevance(candidates, 10, 0.5).size(), 3u);
  EXPECT_TRUE(MaximalMarginalRelevance(candidates, 0, 0.5).empty());
  EXPECT_THROW(MaximalMarginalRelevance(candidates, 3, 1.5), std::invalid_argument);
}

TEST(FusionTest, MmrWithEqualRelevanceOrUnknownVectors) {
  const std::vector<float> east{1, 0}, north{0, 1};
  // Equal relevance: all rescale to 1; after a, b (a duplicate) loses to c at any lambda < 1.
  const std::vector<Candidate> equal{{1, 0.2, east}, {2, 0.2, east}, {3, 0.2, north}};
  EXPECT_EQ(MaximalMarginalRelevance(equal, 3, 0.7), (std::vector<std::size_t>{0, 2, 1}));
  // No vectors: nothing is similar, so it is relevance order.
  const std::vector<Candidate> blind{{1, 0.1, {}}, {2, 0.3, {}}, {3, 0.2, {}}};
  EXPECT_EQ(MaximalMarginalRelevance(blind, 3, 0.5), (std::vector<std::size_t>{1, 2, 0}));
}

TEST(FusionTest, NearDuplicatesAreDropped) {
  const std::vector<float> a{1, 0}, almost_a{0.99f, 0.141f}, b{0, 1}, between{0.6f, 0.8f}, edge{0.95f, 0.31224990f};
  // almost_a: cosine 0.99 with a, dropped. between: 0.6 with a, 0.8 with b, kept.
  const std::vector<Candidate> candidates{{1, 0, a}, {2, 0, almost_a}, {3, 0, b}, {4, 0, between}, {5, 0, {}}};
  EXPECT_EQ(DropNearDuplicates(candidates), (std::vector<std::size_t>{0, 2, 3, 4}));
  EXPECT_EQ(DropNearDuplicates(candidates, 0.7), (std::vector<std::size_t>{0, 2, 4}));
  // Only strictly above the threshold is a duplicate.
  const std::vector<Candidate> at_threshold{{1, 0, a}, {2, 0, edge}};
  EXPECT_EQ(DropNearDuplicates(at_threshold, 0.96), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(DropNearDuplicates(at_threshold, 0.94), (std::vector<std::size_t>{0}));
}

}  // namespace
}  // namespace studio::search
