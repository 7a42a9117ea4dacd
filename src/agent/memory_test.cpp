#include "agent/memory.hpp"

#include <gtest/gtest.h>

namespace studio::agent {
namespace {

TEST(Memory, ExtractiveSummaryKeepsQuestionsAndAnswersWithoutMarkers) {
  std::string s = ExtractiveSummary("", {{llm::Role::kUser, "My order 1234 never arrived. Can you check?"},
                                         {llm::Role::kAssistant, "Orders ship in 2 days [1]. Lost parcels are resent [2]. Other."}});
  EXPECT_EQ(s, "Customer asked: My order 1234 never arrived.\nAgent answered: Orders ship in 2 days. Lost parcels are resent.");
}

TEST(Memory, ExtractiveSummaryDropsTheOldestLinesPastTheLimit) {
  std::string s = ExtractiveSummary("Customer asked: first question?", {{llm::Role::kUser, "second question?"}}, 40);
  EXPECT_EQ(s, "Customer asked: second question?");
}

}  // namespace
}  // namespace studio::agent
