#include "llm/openai_wire.hpp"

#include <gtest/gtest.h>

namespace studio::llm::detail {
namespace {

using Json = nlohmann::json;

TEST(OpenAIWire, ReadsEveryKindOfStreamChunk) {
  ChatResponse r;
  EXPECT_EQ(ReadChunk(Json::parse(R"({"model":"gpt-4o-mini-2024","choices":[{"index":0,"delta":
              {"role":"assistant","content":"","refusal":null},"finish_reason":null}],"usage":null})"),
                      r),
            "");
  EXPECT_EQ(r.model, "gpt-4o-mini-2024");
  EXPECT_EQ(ReadChunk(Json::parse(R"({"choices":[{"index":0,"delta":{"content":"Hel"}}]})"), r), "Hel");
  EXPECT_EQ(ReadChunk(Json::parse(R"({"choices":[{"index":0,"delta":{"reasoning_content":"hm"}}]})"), r), "");
  EXPECT_EQ(ReadChunk(Json::parse(R"({"choices":[{"index":0,"delta":{},"finish_reason":"length"}]})"), r), "");
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_FALSE(r.usage.reported);
  EXPECT_EQ(ReadChunk(Json::parse(R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}})"), r), "");
  EXPECT_TRUE(r.usage.reported);
  EXPECT_EQ(r.usage.total_tokens(), 15);
  EXPECT_EQ(ReadChunk(Json::parse(R"({"choices":"odd"})"), r), "");
}

TEST(OpenAIWire, ReadsCompletionsAndRefusals) {
  ChatResponse r;
  EXPECT_TRUE(ReadCompletion(Json::parse(R"({"choices":[{"message":{"content":null,"refusal":"I can't help."},
                                             "finish_reason":"stop"}]})"),
                             r));
  EXPECT_EQ(r.content, "I can't help.");
  EXPECT_FALSE(ReadCompletion(Json::parse(R"({"choices":[{"text":"legacy completion"}]})"), r));
  EXPECT_FALSE(ReadCompletion(Json::parse("[]"), r));
}

TEST(OpenAIWire, ServerMessagesAreShortAndNeverHoldTheKey) {
  const std::string key = "sk-abc123";
  EXPECT_EQ(ServerMessage(Json::parse(R"({"error":{"message":"bad key sk-abc123 given"}})"), key),
            "bad key [redacted] given");
  EXPECT_EQ(ServerMessage(Json::parse(R"({"error":"model not loaded"})"), key), "model not loaded");
  EXPECT_EQ(ServerMessage(Json::parse(R"({"detail":"x"})"), key), "");
  const std::string longer = ServerMessage(Json{{"error", {{"message", std::string(1000, 'x')}}}}, key);
  EXPECT_LT(longer.size(), 310U);
  EXPECT_TRUE(IsInsufficientQuota(Json::parse(R"({"error":{"code":"insufficient_quota"}})")));
  EXPECT_FALSE(IsInsufficientQuota(Json::parse(R"({"error":{"code":"rate_limit_exceeded"}})")));
}

TEST(OpenAIWire, BuildsTheRequestBody) {
  ChatRequest request;
  request.messages = {{Role::kSystem, "Be brief."}, {Role::kUser, "Hi \xff"}};  // invalid UTF-8 is replaced
  request.stream = true;
  const Json body = Json::parse(ChatRequestBody(request, "m", true));
  EXPECT_EQ(body["model"], "m");
  EXPECT_EQ(body["messages"][1]["content"], "Hi \xEF\xBF\xBD");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(Json::parse(ChatRequestBody(request, "m", false)).contains("stream_options"));
  EXPECT_TRUE(IsEventStream("Text/Event-Stream; charset=utf-8"));
  EXPECT_FALSE(IsEventStream("application/json"));
  EXPECT_TRUE(ParseBaseUrl("https://acme.openai.azure.com/openai/v1").azure);
  EXPECT_FALSE(ParseBaseUrl("https://api.openai.com").azure);
}

}  // namespace
}  // namespace studio::llm::detail
