#include "llm/terms.hpp"

#include <gtest/gtest.h>

#include "llm/sentences.hpp"

namespace studio::llm {
namespace {

TEST(LightStem, JoinsTheFormsOfAWord) {
  for (const char* w : {"ship", "ships", "shipping", "shipped"}) EXPECT_EQ(LightStem(w), "ship") << w;
  for (const char* w : {"refund", "refunds", "refunded", "refunding"}) EXPECT_EQ(LightStem(w), "refund") << w;
  for (const char* w : {"charge", "charges", "charged", "charging"}) EXPECT_EQ(LightStem(w), "charg") << w;
  for (const char* w : {"policy", "policies"}) EXPECT_EQ(LightStem(w), "policy") << w;
  for (const char* w : {"apply", "applies", "applied"}) EXPECT_EQ(LightStem(w), "apply") << w;
  for (const char* w : {"box", "boxes"}) EXPECT_EQ(LightStem(w), "box") << w;
  for (const char* w : {"process", "processes", "processing"}) EXPECT_EQ(LightStem(w), "process") << w;
  EXPECT_EQ(LightStem("bill"), "bill");
  EXPECT_EQ(LightStem("billing"), "bill");
  EXPECT_EQ(LightStem("status"), "status");
  EXPECT_EQ(LightStem("need"), "need");  // "ne" would be too short
  EXPECT_EQ(LightStem("needed"), "need");
  EXPECT_EQ(LightStem("bed"), "bed");
  EXPECT_EQ(LightStem("add"), "add");
}

TEST(ContentTerms, DropStopWordsAndSplitHyphens) {
  EXPECT_EQ(ContentTerms("How long do refunds take?"), (std::vector<std::string>{"long", "refund"}));
  EXPECT_EQ(ContentTerms("Is there a 30-day money-back guarantee?"),
            (std::vector<std::string>{"30", "day", "money", "back", "guarante"}));
  EXPECT_EQ(ContentTerms("What is it? Can you tell me?"), std::vector<std::string>{});
  EXPECT_EQ(ContentTerms("Café RÉSUMÉS"), (std::vector<std::string>{"caf", "resum"}));
}

TEST(SplitSentences, FollowsTheLayoutAndTheSentenceRules) {
  const std::string passage =
      "# Refund policy\n"
      "Refunds are issued within 14 days, e.g. to the original card. Contact\n"
      "Mr. Smith for exceptions!\n"
      "\n"
      "| item | days |\n"
      "- Shipping costs are not refunded\n"
      "- Gift cards   are final.\n"
      "2) Keep your receipt.";
  EXPECT_EQ(SplitSentences(passage), (std::vector<std::string>{
                                         "Refunds are issued within 14 days, e.g. to the original card.",
                                         "Contact Mr. Smith for exceptions!",
                                         "Shipping costs are not refunded",
                                         "Gift cards are final.",
                                         "Keep your receipt.",
                                     }));
  EXPECT_TRUE(SplitSentences("").empty());
  EXPECT_TRUE(SplitSentences(" \n\n ").empty());
}

}  // namespace
}  // namespace studio::llm
