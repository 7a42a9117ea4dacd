#include "llm/citations.hpp"

#include <gtest/gtest.h>

namespace studio::llm {
namespace {

TEST(CitedPassages, ReadsTheMarkersModelsWrite) {
  EXPECT_EQ(CitedPassages("Refunds take 5 days [2]. Shipping is free [1][3]. Also [2, 4]."),
            (std::vector<int>{2, 1, 3, 4}));
  EXPECT_EQ(CitedPassages("No citations here."), std::vector<int>{});
  EXPECT_EQ(CitedPassages("[note] [1a] [0] [] [ 5 ] [-1] [99999999] [7"), std::vector<int>{5});
  EXPECT_EQ(CitedPassages("See [1](https://example.com) and [2]."), std::vector<int>{2});
  EXPECT_EQ(CitedPassages("[[3]]"), std::vector<int>{3});
}

}  // namespace
}  // namespace studio::llm
