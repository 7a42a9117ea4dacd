#include "agent/prompt.hpp"

#include <gtest/gtest.h>

#include <random>

#include "core/error.hpp"
#include "search/tokenizer/test_support.hpp"

namespace studio::agent {
namespace {

using search::test_support::TokenizerTest;

std::string Words(std::mt19937& rng, int n) {
  static const char* kWords[] = {"refund", "order", "shipping", "the", "customer", "päckchen", "返金", "delivery",
                                 "invoice", "42", "days", "support", "account", "password", "reset"};
  std::string out;
  for (int i = 0; i < n; ++i) out += std::string(i ? " " : "") + kWords[rng() % std::size(kWords)];
  return out;
}

class PromptTest : public TokenizerTest {};

TEST_F(PromptTest, NeverExceedsTheBudgetAndCountsExactly) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    PromptInput in;
    in.budget = 1024 + static_cast<int>(rng() % 4000);
    in.system = Words(rng, 50 + static_cast<int>(rng() % 200));
    in.summary = Words(rng, static_cast<int>(rng() % 2000));
    for (int i = 0; i < static_cast<int>(rng() % 30); ++i) {
      in.history.push_back({i % 2 ? llm::Role::kAssistant : llm::Role::kUser, Words(rng, 1 + static_cast<int>(rng() % 300))});
    }
    in.user_message = Words(rng, 1 + static_cast<int>(rng() % 200));
    for (int i = 0; i < static_cast<int>(rng() % 12); ++i) {
      in.passages.push_back({"Doc " + std::to_string(i), Words(rng, 20 + static_cast<int>(rng() % 600))});
    }
    Prompt p = BuildPrompt(in, tok());
    const int counted = CountPromptTokens(llm::MessagesWithContext(p.request), tok());
    EXPECT_EQ(p.prompt_tokens, counted);
    EXPECT_LE(counted, in.budget) << "round " << round;
    // The system message and the user's message always go; history is the newest tail.
    EXPECT_EQ(p.request.messages.front().content, in.system);
    EXPECT_EQ(p.request.messages.back().content, in.user_message);
    if (p.history_sent > 0) {
      EXPECT_EQ(p.request.messages[p.request.messages.size() - 2].content, in.history.back().content);
    }
    ASSERT_EQ(p.request.context.size(), p.passage_sources.size());
    for (std::size_t i = 0; i < p.request.context.size(); ++i) {
      EXPECT_EQ(p.request.context[i].n, static_cast<int>(i) + 1);
      EXPECT_EQ(p.request.context[i].text, in.passages[p.passage_sources[i]].text);
    }
  }
}

TEST_F(PromptTest, EverythingFitsWhenSmall) {
  PromptInput in;
  in.system = "Be helpful.";
  in.summary = "Customer asked: where is my order?";
  in.history = {{llm::Role::kUser, "Hi"}, {llm::Role::kAssistant, "Hello! How can I help?"}};
  in.user_message = "How long do refunds take?";
  in.passages = {{"Refunds", "Refunds take 5 days."}, {"Shipping", "Shipping takes 2 days."}};
  Prompt p = BuildPrompt(in, tok());
  EXPECT_EQ(p.history_sent, 2u);
  EXPECT_EQ(p.request.context.size(), 2u);
  EXPECT_FALSE(p.summary_cut);
  ASSERT_EQ(p.request.messages.size(), 5u);
  EXPECT_EQ(p.request.messages[1].content, std::string(kSummaryHeading) + in.summary);
  EXPECT_EQ(p.request.messages[2].content, "Hi");
}

TEST_F(PromptTest, AMessageLargerThanTheBudgetIsRefused) {
  PromptInput in;
  in.system = "Be helpful.";
  std::mt19937 rng(1);
  in.user_message = Words(rng, 3000);
  in.budget = 1024;
  try {
    BuildPrompt(in, tok());
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), 422);
    EXPECT_EQ(e.code(), "MESSAGE_TOO_LONG");
  }
}

TEST_F(PromptTest, ALongSummaryIsCutToItsNewestPart) {
  PromptInput in;
  in.system = "Be helpful.";
  std::mt19937 rng(3);
  in.summary = Words(rng, 3000) + " NEWEST-FACT";
  in.user_message = "Hi";
  in.budget = 1024;
  Prompt p = BuildPrompt(in, tok());
  EXPECT_TRUE(p.summary_cut);
  ASSERT_GE(p.request.messages.size(), 3u);
  EXPECT_NE(p.request.messages[1].content.find("NEWEST-FACT"), std::string::npos);
  EXPECT_LE(p.prompt_tokens, 1024);
}

}  // namespace
}  // namespace studio::agent
