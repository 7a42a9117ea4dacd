#include "llm/chat_model.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "llm/make_chat_model.hpp"

namespace studio::llm {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

ChatRequest Request() {
  ChatRequest r;
  r.messages = {{Role::kSystem, "You are helpful."},
                {Role::kSystem, "Be brief."},
                {Role::kUser, "Hi"},
                {Role::kAssistant, "Hello!"},
                {Role::kUser, "How do refunds work?"}};
  r.context = {{1, "Refunds", "Refunds take 5 days."}, {2, "", "Shipping is free."}};
  return r;
}

TEST(ChatModel, ContextIsOneSystemMessageAfterTheSystemPrompt) {
  const auto messages = MessagesWithContext(Request());
  ASSERT_EQ(messages.size(), 6U);
  EXPECT_EQ(messages[0].content, "You are helpful.");
  EXPECT_EQ(messages[1].content, "Be brief.");
  EXPECT_EQ(messages[2].role, Role::kSystem);
  EXPECT_EQ(messages[2].content,
            "Context passages (cite a passage you use as [n], only these numbers):\n\n"
            "[1] Refunds\nRefunds take 5 days.\n\n[2]\nShipping is free.");
  EXPECT_EQ(messages[3].content, "Hi");
  EXPECT_EQ(messages[5].content, "How do refunds work?");

  ChatRequest no_context = Request();
  no_context.context.clear();
  EXPECT_EQ(MessagesWithContext(no_context).size(), 5U);
  EXPECT_EQ(FormatContext({}), "");

  ChatRequest no_system;
  no_system.messages = {{Role::kUser, "q"}};
  no_system.context = {{1, "T", "x"}};
  const auto first = MessagesWithContext(no_system);
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].role, Role::kSystem);
  EXPECT_EQ(first[1].content, "q");
}

TEST(ChatModel, RequestsAreValidated) {
  EXPECT_NO_THROW(ValidateRequest(Request()));
  EXPECT_THROW(ValidateRequest(ChatRequest{}), std::invalid_argument);
  ChatRequest repeated = Request();
  repeated.context[1].n = 1;
  EXPECT_THROW(ValidateRequest(repeated), std::invalid_argument);
  ChatRequest zero = Request();
  zero.context[0].n = 0;
  EXPECT_THROW(ValidateRequest(zero), std::invalid_argument);
  EXPECT_EQ(RoleName(Role::kAssistant), "assistant");
}

TEST(CancellationToken, WakesAWaiterAtOnce) {
  CancellationToken token;
  EXPECT_FALSE(token.cancelled());
  EXPECT_FALSE(token.WaitFor(milliseconds(10)));  // times out
  const auto start = Clock::now();
  std::thread canceller([&token] {
    std::this_thread::sleep_for(milliseconds(50));
    token.Cancel();
  });
  EXPECT_TRUE(token.WaitFor(milliseconds(10'000)));
  canceller.join();
  EXPECT_LT(Clock::now() - start, milliseconds(2'000));
  EXPECT_TRUE(token.cancelled());
  EXPECT_TRUE(token.WaitFor(milliseconds(10'000)));  // already cancelled: returns at once
}

TEST(MakeChatModel, ChoosesOpenAIOnlyWhenConfigured) {
  ChatModelConfig config;
  EXPECT_EQ(MakeChatModel(config)->name(), "extractive");
  config.api_key = "sk-x";
  EXPECT_EQ(MakeChatModel(config)->name(), "openai");
  config.api_key.clear();
  config.base_url = "http://127.0.0.1:11434/v1";  // Ollama: a URL and no key
  const auto local = MakeChatModel(config);
  EXPECT_EQ(local->name(), "openai");
  EXPECT_EQ(local->model(), "gpt-4o-mini");
  config.provider = ChatProvider::kExtractive;
  EXPECT_EQ(MakeChatModel(config)->name(), "extractive");
  config = {};
  config.provider = ChatProvider::kOpenAI;  // explicit: OpenAI itself, even without a key
  EXPECT_EQ(MakeChatModel(config)->name(), "openai");
  config.base_url = "ftp://nowhere";
  EXPECT_THROW(MakeChatModel(config), std::invalid_argument);
  EXPECT_EQ(ParseChatProvider("openai"), ChatProvider::kOpenAI);
  EXPECT_EQ(ParseChatProvider("extractive"), ChatProvider::kExtractive);
  EXPECT_EQ(ParseChatProvider("auto"), ChatProvider::kAuto);
  EXPECT_THROW(ParseChatProvider("OpenAI"), std::invalid_argument);
}

}  // namespace
}  // namespace studio::llm
