#include "llm/extractive_chat_model.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "llm/citations.hpp"

namespace studio::llm {
namespace {

// A small knowledge base as the agent would pass it: numbered by the agent (not 1, 2, 3, to show
// that the markers use the given numbers), best first.
std::vector<ContextPassage> Passages() {
  return {
      {3, "Refund policy",
       "# Refunds\n"
       "Refunds are issued to the original payment method within 14 days of receiving your return. "
       "Items must be unused and in their original packaging.\n"
       "Shipping costs are not refunded."},
      {5, "Shipping",
       "We ship to all EU countries and the United Kingdom. Standard shipping takes 3 to 5 business days.\n\n"
       "Express shipping is available for an extra fee."},
      {8, "Account",
       "You can change your password from the account settings page. Two-factor authentication can be enabled "
       "under Security."},
  };
}

ChatRequest Ask(const std::string& question, std::vector<ContextPassage> context = Passages()) {
  ChatRequest r;
  r.messages = {{Role::kSystem, "You are the support assistant of Acme. Answer from the passages."},
                {Role::kUser, question}};
  r.context = std::move(context);
  return r;
}

TEST(ExtractiveChatModel, AnswersFromTheMatchingSentenceAndCitesOnlyItsPassage) {
  ExtractiveChatModel model;
  const ChatResponse r = model.Chat(Ask("Do you ship to the United Kingdom?"));
  EXPECT_EQ(r.content, "We ship to all EU countries and the United Kingdom [5].");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.model, "extractive");
  EXPECT_TRUE(r.usage.reported);
  EXPECT_EQ(r.usage.total_tokens(), 0);
  EXPECT_EQ(model.name(), "extractive");
}

TEST(ExtractiveChatModel, CombinesSentencesFromSeveralPassagesInReadingOrder) {
  ExtractiveChatModel model;
  const ChatResponse r = model.Chat(Ask("Are shipping costs refunded, and how long does standard shipping take?"));
  EXPECT_EQ(r.content, "Shipping costs are not refunded [3]. Standard shipping takes 3 to 5 business days [5].");
  EXPECT_EQ(CitedPassages(r.content), (std::vector<int>{3, 5}));  // never the account passage

  // One marker after a run of sentences from the same passage.
  const ChatResponse refunds = model.Chat(Ask("How long does it take to get a refund?"));
  EXPECT_EQ(refunds.content,
            "Refunds are issued to the original payment method within 14 days of receiving your return. "
            "Shipping costs are not refunded [3].");
  EXPECT_EQ(CitedPassages(refunds.content), std::vector<int>{3});
}

TEST(ExtractiveChatModel, SaysItDoesNotKnowWhenNothingMatches) {
  ExtractiveChatModel model;
  for (const std::string question : {"What is the capital of France?", "Can you tell me?", "?"}) {
    const ChatResponse r = model.Chat(Ask(question));
    EXPECT_EQ(r.content, ExtractiveOptions{}.unknown_answer) << question;
    EXPECT_TRUE(CitedPassages(r.content).empty());
    EXPECT_EQ(r.finish_reason, "stop");
  }
  EXPECT_EQ(model.Chat(Ask("How do refunds work?", {})).content, ExtractiveOptions{}.unknown_answer);

  ExtractiveOptions options;
  options.unknown_answer = "Sorry, no idea.";
  EXPECT_EQ(ExtractiveChatModel(options).Chat(Ask("Who won the 1998 World Cup?")).content, "Sorry, no idea.");
}

TEST(ExtractiveChatModel, OverlappingPassagesAreCitedOnce) {
  // The chunker's overlap repeats a sentence in the next chunk: it is used once, from the first.
  auto passages = Passages();
  passages.insert(passages.begin() + 1,
                  {4, "Refund policy (cont.)", "Shipping costs are not refunded. Contact support for damaged items."});
  ExtractiveChatModel model;
  const ChatResponse r = model.Chat(Ask("Are shipping costs refunded?", passages));
  EXPECT_EQ(r.content, "Shipping costs are not refunded [3].");
}

TEST(ExtractiveChatModel, UsesTheLastUserMessageAndRespectsTheLimits) {
  ChatRequest r = Ask("What is the capital of France?");
  r.messages.push_back({Role::kAssistant, "I don't know."});
  r.messages.push_back({Role::kUser, "How do I change my password?"});
  ExtractiveChatModel model;
  EXPECT_EQ(model.Chat(r).content, "You can change your password from the account settings page [8].");

  // Many matching sentences: at most max_sentences, the best ones.
  ExtractiveOptions one;
  one.max_sentences = 1;
  EXPECT_EQ(ExtractiveChatModel(one)
                .Chat(Ask("Are shipping costs refunded, and how long does standard shipping take?"))
                .content,
            "Shipping costs are not refunded [3].");
  ChatRequest short_answer = Ask("How long does it take to get a refund?");
  short_answer.max_tokens = 20;  // ≈ 80 characters: the first sentence only
  EXPECT_EQ(model.Chat(short_answer).content,
            "Refunds are issued to the original payment method within 14 days of receiving your return [3].");
}

TEST(ExtractiveChatModel, StreamsWordByWordAndStopsWhenAsked) {
  ExtractiveChatModel model;
  ChatRequest r = Ask("Do you ship to the United Kingdom?");
  r.stream = true;
  std::vector<std::string> deltas;
  const ChatResponse full = model.Chat(r, [&](std::string_view d) {
    deltas.emplace_back(d);
    return StreamAction::kContinue;
  });
  EXPECT_EQ(full.content, "We ship to all EU countries and the United Kingdom [5].");
  ASSERT_EQ(deltas.size(), 11U);
  EXPECT_EQ(deltas[0], "We");
  EXPECT_EQ(deltas[1], " ship");
  EXPECT_EQ(deltas[10], " [5].");
  std::string joined;
  for (const auto& d : deltas) joined += d;
  EXPECT_EQ(joined, full.content);

  int calls = 0;
  const ChatResponse stopped =
      model.Chat(r, [&](std::string_view) { return ++calls == 3 ? StreamAction::kStop : StreamAction::kContinue; });
  EXPECT_TRUE(stopped.cancelled());
  EXPECT_EQ(stopped.content, "We ship to");

  CancellationToken token;
  token.Cancel();
  const ChatResponse cancelled = model.Chat(
      r, [](std::string_view) { return StreamAction::kContinue; }, &token);
  EXPECT_TRUE(cancelled.cancelled());
  EXPECT_EQ(cancelled.content, "");

  // Without stream the callback is not used.
  r.stream = false;
  int unused = 0;
  EXPECT_EQ(model
                .Chat(r,
                      [&](std::string_view) {
                        ++unused;
                        return StreamAction::kContinue;
                      })
                .content,
            full.content);
  EXPECT_EQ(unused, 0);
}

TEST(ExtractiveChatModel, IsDeterministic) {
  ExtractiveChatModel a;
  ExtractiveChatModel b;
  const ChatRequest r = Ask("What payment method do refunds go to, and is express shipping available?");
  const std::string first = a.Chat(r).content;
  EXPECT_EQ(first,
            "Refunds are issued to the original payment method within 14 days of receiving your return. "
            "Shipping costs are not refunded [3]. Express shipping is available for an extra fee [5].");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.Chat(r).content, first);
}

TEST(ExtractiveChatModel, OptionsAndRequestsAreValidated) {
  ExtractiveOptions zero;
  zero.max_sentences = 0;
  EXPECT_THROW(ExtractiveChatModel{zero}, std::invalid_argument);
  ExtractiveOptions coverage;
  coverage.min_coverage = 0;
  EXPECT_THROW(ExtractiveChatModel{coverage}, std::invalid_argument);
  ExtractiveChatModel model;
  EXPECT_THROW(model.Chat(ChatRequest{}), std::invalid_argument);
}

}  // namespace
}  // namespace studio::llm
