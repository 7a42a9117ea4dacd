#include "llm/openai_chat_model.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "llm/errors.hpp"
#include "tests/fakes/fake_server.hpp"

namespace studio::llm {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr const char* kKey = "sk-test-0123456789abcdefSECRET";

template <typename E = Error, typename F>
std::optional<E> Catch(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  }
  ADD_FAILURE() << "nothing thrown";
  return std::nullopt;
}

long long Ms(Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

class OpenAIChatModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fake_ = new fakes::FakeServer("fake_openai.py", {"--api-key", kKey}); }
  static void TearDownTestSuite() {
    delete fake_;
    fake_ = nullptr;
  }
  void SetUp() override { fake_->Post("/_fake/reset", "{}"); }

  OpenAIChatOptions Options() {
    OpenAIChatOptions o;
    o.base_url = fake_->base_url();
    o.api_key = kKey;
    o.model = "gpt-test";
    o.max_attempts = 3;
    o.sleep = [this](milliseconds d) {
      std::lock_guard lock(sleeps_mu_);
      sleeps_.push_back(d);
    };
    return o;
  }

  static ChatRequest Question(bool stream = false) {
    ChatRequest r;
    r.messages = {{Role::kSystem, "You are the support assistant."},
                  {Role::kUser, "What is your refund policy?"},
                  {Role::kAssistant, "Which product?"},
                  {Role::kUser, "The kettle."}};
    r.context = {{1, "Refunds", "Refunds take 5 days."}};
    r.stream = stream;
    return r;
  }

  static void FakeOptions(const Json& options) { fake_->Post("/_fake/options", options.dump()); }
  static void Faults(const Json& faults) { fake_->Post("/_fake/faults", Json{{"faults", faults}}.dump()); }
  static Json Requests() { return Json::parse(fake_->Get("/_fake/requests"))["requests"]; }

  // Polls the fake until its last request's entry satisfies `done` (a stream's entry is final
  // only once the fake has tried to write past the disconnect).
  template <typename P>
  static Json LastRequestWhen(P done) {
    const auto deadline = Clock::now() + milliseconds(5'000);
    Json last;
    while (Clock::now() < deadline) {
      last = Requests().back();
      if (done(last)) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return last;
  }

  static inline fakes::FakeServer* fake_ = nullptr;
  std::mutex sleeps_mu_;
  std::vector<milliseconds> sleeps_;
};

TEST_F(OpenAIChatModelTest, AnswersWithUsageAndSendsTheWholeConversation) {
  FakeOptions({{"chat_reply", "Kettles are refunded within 5 days [1]."}});
  OpenAIChatModel model(Options());
  EXPECT_EQ(model.name(), "openai");
  EXPECT_EQ(model.model(), "gpt-test");
  ChatRequest request = Question();
  request.temperature = 0.2;
  request.max_tokens = 200;
  request.stop = {"\n\n"};
  const ChatResponse r = model.Chat(request);
  EXPECT_EQ(r.content, "Kettles are refunded within 5 days [1].");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.model, "gpt-test");
  EXPECT_TRUE(r.usage.reported);
  EXPECT_EQ(r.usage.completion_tokens, 7);
  EXPECT_GT(r.usage.prompt_tokens, 10);
  EXPECT_FALSE(r.cancelled());

  const Json requests = Requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0]["path"], "/v1/chat/completions");
  EXPECT_EQ(requests[0]["authorized"], true);
  const Json& body = requests[0]["body"];
  EXPECT_EQ(body["model"], "gpt-test");
  EXPECT_EQ(body["temperature"], 0.2);
  EXPECT_EQ(body["max_tokens"], 200);
  EXPECT_EQ(body["stop"], Json::array({"\n\n"}));
  EXPECT_FALSE(body.contains("stream"));
  EXPECT_FALSE(body.contains("stream_options"));
  // The model received the system prompt, then the passages, then the history, in order.
  const Json& messages = body["messages"];
  ASSERT_EQ(messages.size(), 5U);
  EXPECT_EQ(messages[0], Json({{"role", "system"}, {"content", "You are the support assistant."}}));
  EXPECT_EQ(messages[1]["role"], "system");
  EXPECT_NE(messages[1]["content"].get<std::string>().find("[1] Refunds\nRefunds take 5 days."), std::string::npos);
  EXPECT_EQ(messages[2], Json({{"role", "user"}, {"content", "What is your refund policy?"}}));
  EXPECT_EQ(messages[3], Json({{"role", "assistant"}, {"content", "Which product?"}}));
  EXPECT_EQ(messages[4], Json({{"role", "user"}, {"content", "The kettle."}}));

  request.model = "other-model";
  request.max_tokens = 3;
  const ChatResponse cut = model.Chat(request);
  EXPECT_EQ(cut.content, "Kettles are refunded");
  EXPECT_EQ(cut.finish_reason, "length");
  EXPECT_EQ(cut.model, "other-model");
}

TEST_F(OpenAIChatModelTest, StreamsTokensAsTheyArrive) {
  FakeOptions({{"chat_reply", "one two three four five"}, {"chat_token_delay_ms", 150}});
  OpenAIChatModel model(Options());
  std::vector<std::string> deltas;
  std::vector<Clock::time_point> times;
  const auto start = Clock::now();
  const ChatResponse r = model.Chat(Question(true), [&](std::string_view d) {
    deltas.emplace_back(d);
    times.push_back(Clock::now());
    return StreamAction::kContinue;
  });
  const auto end = Clock::now();
  EXPECT_EQ(deltas, (std::vector<std::string>{"one", " two", " three", " four", " five"}));
  EXPECT_EQ(r.content, "one two three four five");
  EXPECT_EQ(r.finish_reason, "stop");
  // Incremental: the first token came ~4 delays before the last, not together at the end.
  ASSERT_EQ(times.size(), 5U);
  EXPECT_GE(Ms(times[4] - times[0]), 450);
  EXPECT_LT(Ms(times[0] - start), Ms(end - start) - 400);
  // Usage came with the last chunk because the client asked for it.
  EXPECT_TRUE(r.usage.reported);
  EXPECT_EQ(r.usage.completion_tokens, 5);
  const Json body = Requests()[0]["body"];
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"], Json({{"include_usage", true}}));

  // A server that ignores stream_options: no usage, still an answer.
  FakeOptions({{"chat_token_delay_ms", 0}});
  auto options = Options();
  options.stream_usage = false;
  OpenAIChatModel no_usage(options);
  const ChatResponse plain = no_usage.Chat(Question(true), [](std::string_view) { return StreamAction::kContinue; });
  EXPECT_EQ(plain.content, "one two three four five");
  EXPECT_FALSE(plain.usage.reported);
  EXPECT_FALSE(Requests().back()["body"].contains("stream_options"));
}

TEST_F(OpenAIChatModelTest, CancellationMidStreamReturnsPromptlyAndClosesTheConnection) {
  FakeOptions({{"chat_reply", "a b c d e f g h i j k l m n o p q r s t"}, {"chat_token_delay_ms", 200}});
  OpenAIChatModel model(Options());
  CancellationToken token;
  std::atomic<int> received{0};
  std::atomic<long long> cancelled_at{0};
  std::thread client_gone([&] {
    while (received.load() < 2) std::this_thread::sleep_for(milliseconds(5));
    cancelled_at = Clock::now().time_since_epoch().count();
    token.Cancel();  // as SseStream::OnCancel would when the agent's client disconnects
  });
  const ChatResponse r = model.Chat(
      Question(true),
      [&](std::string_view) {
        ++received;
        return StreamAction::kContinue;
      },
      &token);
  const auto returned = Clock::now().time_since_epoch().count();
  client_gone.join();
  EXPECT_TRUE(r.cancelled());
  EXPECT_EQ(r.finish_reason, kFinishCancelled);
  EXPECT_EQ(r.content, "a b");                                          // what the callback was given, nothing more
  EXPECT_LT(Ms(Clock::duration(returned - cancelled_at.load())), 150);  // within a poll interval or two
  const Json entry = LastRequestWhen([](const Json& e) { return e.contains("client_disconnected"); });
  EXPECT_EQ(entry["client_disconnected"], true);
  EXPECT_LT(entry["chunks_sent"].get<int>(), 10);  // the server stopped generating
  EXPECT_EQ(Requests().size(), 1U);                // and nothing was retried

  // The callback can stop the stream too.
  fake_->Post("/_fake/reset", "{}");
  FakeOptions({{"chat_reply", "a b c d e f g h i j k l m n o p q r s t"}, {"chat_token_delay_ms", 200}});
  const ChatResponse stopped = model.Chat(
      Question(true), [](std::string_view d) { return d == " c" ? StreamAction::kStop : StreamAction::kContinue; });
  EXPECT_TRUE(stopped.cancelled());
  EXPECT_EQ(stopped.content, "a b c");
  EXPECT_EQ(LastRequestWhen([](const Json& e) { return e.contains("client_disconnected"); })["client_disconnected"],
            true);
}

TEST_F(OpenAIChatModelTest, AReceiverThatFallsBehindLosesNothing) {
  // ~300 KB of events sent at once while the callback sleeps on the first token: the transport
  // holds at most 64 KiB for it and pauses the transfer until it catches up.
  std::string reply = "w0";
  for (int i = 1; i < 1500; ++i) reply += " w" + std::to_string(i);
  FakeOptions({{"chat_reply", reply}, {"chat_token_delay_ms", 0}});
  OpenAIChatModel model(Options());
  std::string received;
  const ChatResponse r = model.Chat(Question(true), [&](std::string_view d) {
    if (received.empty()) std::this_thread::sleep_for(milliseconds(300));
    received.append(d);
    return StreamAction::kContinue;
  });
  EXPECT_EQ(received, reply);
  EXPECT_EQ(r.content, reply);
  EXPECT_EQ(r.finish_reason, "stop");
}

TEST_F(OpenAIChatModelTest, WaitsOutRetryAfterBeforeTheFirstToken) {
  Faults(Json::array({{{"status", 429}, {"retry_after", "1"}}}));
  FakeOptions({{"chat_reply", "fine now"}});
  OpenAIChatModel model(Options());
  std::vector<std::string> deltas;
  const ChatResponse r = model.Chat(Question(true), [&](std::string_view d) {
    deltas.emplace_back(d);
    return StreamAction::kContinue;
  });
  EXPECT_EQ(r.content, "fine now");
  EXPECT_EQ(deltas, (std::vector<std::string>{"fine", " now"}));  // nothing from the failed attempt
  const Json requests = Requests();
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[0]["status"], 429);
  EXPECT_EQ(requests[1]["status"], 200);
  EXPECT_EQ(requests[1]["body"], requests[0]["body"]);
  EXPECT_EQ(sleeps_, std::vector<milliseconds>{milliseconds(1000)});

  // An HTTP-date Retry-After is honoured too.
  fake_->Post("/_fake/reset", "{}");
  sleeps_.clear();
  Faults(Json::array({{{"status", 503}, {"retry_after_date_in", 3}}}));
  EXPECT_EQ(model.Chat(Question()).content, "Echo: The kettle.");
  ASSERT_EQ(sleeps_.size(), 1U);
  EXPECT_GE(sleeps_[0], milliseconds(1000));
  EXPECT_LE(sleeps_[0], milliseconds(3000));
}

TEST_F(OpenAIChatModelTest, PersistentServerErrorsEndInUnavailableAfterMaxAttempts) {
  Faults(Json::array({{{"status", 500}, {"count", 10}}}));
  OpenAIChatModel model(Options());  // backoff_base 500 ms
  const auto error = Catch<UnavailableError>([&] { model.Chat(Question(true)); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status(), 503);
  EXPECT_EQ(error->code(), "LLM_UNAVAILABLE");
  EXPECT_NE(std::string(error->what()).find("HTTP 500 after 3 attempts"), std::string::npos) << error->what();
  ASSERT_EQ(error->headers().size(), 1U);
  EXPECT_EQ(error->headers()[0].first, "Retry-After");
  EXPECT_EQ(Requests().size(), 3U);
  ASSERT_EQ(sleeps_.size(), 2U);  // jittered exponential: [250, 500], then [500, 1000]
  EXPECT_GE(sleeps_[0], milliseconds(250));
  EXPECT_LE(sleeps_[0], milliseconds(500));
  EXPECT_GE(sleeps_[1], milliseconds(500));
  EXPECT_LE(sleeps_[1], milliseconds(1000));
}

TEST_F(OpenAIChatModelTest, RateLimitsEndInRateLimited) {
  Faults(Json::array({{{"status", 429}, {"count", 5}}}));
  OpenAIChatModel model(Options());
  const auto error = Catch<RateLimitedError>([&] { model.Chat(Question()); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), "LLM_RATE_LIMITED");
  EXPECT_EQ(Requests().size(), 3U);

  // A Retry-After beyond what a waiting person should sit through ends the call at once.
  fake_->Post("/_fake/reset", "{}");
  sleeps_.clear();
  Faults(Json::array({{{"status", 429}, {"retry_after", "120"}}}));
  const auto long_wait = Catch<RateLimitedError>([&] { model.Chat(Question()); });
  ASSERT_TRUE(long_wait);
  EXPECT_EQ(long_wait->headers()[0].second, "120");
  EXPECT_EQ(Requests().size(), 1U);
  EXPECT_TRUE(sleeps_.empty());

  // An exhausted quota is not waited out.
  Faults(Json::array({{{"status", 429}, {"code", "insufficient_quota"}}}));
  const auto quota = Catch<ConfigurationError>([&] { model.Chat(Question()); });
  ASSERT_TRUE(quota);
  EXPECT_NE(std::string(quota->what()).find("quota"), std::string::npos);
}

TEST_F(OpenAIChatModelTest, WrongKeyIsAConfigurationErrorWithoutTheKey) {
  auto options = Options();
  options.api_key = "sk-wrong-key-abcdefghijklmnop9876";
  OpenAIChatModel model(options);
  const auto error = Catch<ConfigurationError>([&] { model.Chat(Question(true)); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status(), 502);
  EXPECT_EQ(error->code(), "LLM_CONFIGURATION_ERROR");
  const std::string message = error->what();
  EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
  EXPECT_NE(message.find("API key"), std::string::npos) << message;
  EXPECT_EQ(message.find("sk-wrong"), std::string::npos) << message;
  EXPECT_EQ(message.find("9876"), std::string::npos) << message;  // OpenAI's body quotes the key's tail
  EXPECT_EQ(Requests().size(), 1U);                               // not retried
  EXPECT_TRUE(sleeps_.empty());

  // Azure's header instead of Bearer: the fake (like OpenAI) does not accept it.
  options.api_key = kKey;
  options.auth_header = AuthHeader::kApiKey;
  OpenAIChatModel azure_style(options);
  EXPECT_TRUE(Catch<ConfigurationError>([&] { azure_style.Chat(Question()); }));
  EXPECT_EQ(Requests().back()["authorized"], false);
}

TEST_F(OpenAIChatModelTest, OtherClientErrorsAreBadRequestsWithTheServersMessage) {
  OpenAIChatModel model(Options());
  ChatRequest request = Question();
  request.temperature = 5;
  const auto error = Catch<BadRequestError>([&] { model.Chat(request); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), "LLM_BAD_REQUEST");
  EXPECT_NE(std::string(error->what()).find("Invalid value for 'temperature'"), std::string::npos) << error->what();
  EXPECT_EQ(Requests().size(), 1U);

  Faults(Json::array({{{"status", 404}, {"message", "The model `gpt-test` does not exist."}}}));
  const auto missing = Catch<ConfigurationError>([&] { model.Chat(Question()); });
  ASSERT_TRUE(missing);
  EXPECT_NE(std::string(missing->what()).find("does not exist"), std::string::npos) << missing->what();
}

TEST_F(OpenAIChatModelTest, IdleTimeoutIsRetriedThenReported) {
  auto options = Options();
  options.idle_timeout = milliseconds(300);
  OpenAIChatModel model(options);
  Faults(Json::array({{{"delay_ms", 3000}}}));  // the first attempt hangs, the second answers
  const auto start = Clock::now();
  EXPECT_EQ(model.Chat(Question()).content, "Echo: The kettle.");
  EXPECT_LT(Ms(Clock::now() - start), 2000);
  EXPECT_EQ(Requests().size(), 2U);

  options.max_attempts = 1;
  OpenAIChatModel once(options);
  Faults(Json::array({{{"delay_ms", 3000}}}));
  const auto error = Catch<UnavailableError>([&] { once.Chat(Question(true)); });
  ASSERT_TRUE(error);
  EXPECT_NE(std::string(error->what()).find("no data from the server for 300 ms"), std::string::npos) << error->what();
}

TEST_F(OpenAIChatModelTest, AStreamCutOffAfterTheFirstTokenIsNotReplayed) {
  Faults(Json::array({{{"drop_after_chunks", 3}}}));  // role chunk + two tokens, then the connection closes
  FakeOptions({{"chat_reply", "one two three four"}});
  OpenAIChatModel model(Options());
  std::string seen;
  const auto error = Catch<StreamInterruptedError>([&] {
    model.Chat(Question(true), [&](std::string_view d) {
      seen += d;
      return StreamAction::kContinue;
    });
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), "LLM_STREAM_INTERRUPTED");
  EXPECT_EQ(error->partial().content, "one two");
  EXPECT_EQ(seen, "one two");
  EXPECT_EQ(Requests().size(), 1U);
  EXPECT_TRUE(sleeps_.empty());

  // Cut off before any token: retried like any failure.
  Faults(Json::array({{{"drop_after_chunks", 1}}}));
  EXPECT_EQ(model.Chat(Question(true), [](std::string_view) { return StreamAction::kContinue; }).content,
            "one two three four");

  // A total timeout in the middle of a slow stream is the same kind of cut.
  FakeOptions({{"chat_token_delay_ms", 300}});
  auto options = Options();
  options.total_timeout = milliseconds(800);
  OpenAIChatModel slow(options);
  const auto timeout = Catch<StreamInterruptedError>(
      [&] { slow.Chat(Question(true), [](std::string_view) { return StreamAction::kContinue; }); });
  ASSERT_TRUE(timeout);
  EXPECT_FALSE(timeout->partial().content.empty());
}

TEST_F(OpenAIChatModelTest, CancellationDuringABackoffEndsTheWait) {
  Faults(Json::array({{{"status", 503}, {"retry_after", "10"}}}));
  auto options = Options();
  options.sleep = nullptr;  // the real, cancellable wait
  OpenAIChatModel model(options);
  CancellationToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(300));
    token.Cancel();
  });
  const auto start = Clock::now();
  const ChatResponse r = model.Chat(Question(), {}, &token);
  canceller.join();
  EXPECT_TRUE(r.cancelled());
  EXPECT_EQ(r.content, "");
  EXPECT_LT(Ms(Clock::now() - start), 2000);
  EXPECT_EQ(Requests().size(), 1U);
}

TEST_F(OpenAIChatModelTest, OddButValidResponsesAreUnderstoodAndInvalidOnesRejected) {
  OpenAIChatModel model(Options());
  // A server that ignores "stream": true and answers in one piece.
  const Json completion = {{"object", "chat.completion"},
                           {"model", "local-llama"},
                           {"choices",
                            {{{"index", 0},
                              {"message", {{"role", "assistant"}, {"content", "Whole answer."}}},
                              {"finish_reason", "stop"}}}}};
  Faults(Json::array({{{"status", 200}, {"body", completion}}}));
  std::vector<std::string> deltas;
  const ChatResponse r = model.Chat(Question(true), [&](std::string_view d) {
    deltas.emplace_back(d);
    return StreamAction::kContinue;
  });
  EXPECT_EQ(deltas, std::vector<std::string>{"Whole answer."});
  EXPECT_EQ(r.model, "local-llama");
  EXPECT_FALSE(r.usage.reported);

  for (const Json& body : {Json("not an object"), Json({{"choices", Json::array()}}), Json({{"id", "x"}})}) {
    Faults(Json::array({{{"status", 200}, {"body", body}}}));
    const auto error = Catch<BadResponseError>([&] { model.Chat(Question()); });
    ASSERT_TRUE(error) << body;
    EXPECT_EQ(error->code(), "LLM_BAD_RESPONSE");
  }
}

TEST_F(OpenAIChatModelTest, UnreachableServerIsUnavailable) {
  auto options = Options();
  options.base_url = "http://127.0.0.1:1";  // nothing listens on port 1
  options.max_attempts = 2;
  OpenAIChatModel model(options);
  const auto error = Catch<UnavailableError>([&] { model.Chat(Question()); });
  ASSERT_TRUE(error);
  EXPECT_NE(std::string(error->what()).find("after 2 attempts"), std::string::npos) << error->what();
  EXPECT_EQ(sleeps_.size(), 1U);
}

TEST_F(OpenAIChatModelTest, ConcurrentCallsAllSucceed) {
  OpenAIChatModel model(Options());
  std::vector<std::string> answers(4);
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ChatRequest r = Question(t % 2 == 0);
      r.messages.back().content = "question " + std::to_string(t);
      answers[static_cast<std::size_t>(t)] = model.Chat(r).content;
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(answers[static_cast<std::size_t>(t)], "Echo: question " + std::to_string(t));
}

TEST(OpenAIChatOptions, UrlsAndOptionsAreChecked) {
  auto url = [](const std::string& base) {
    OpenAIChatOptions o;
    o.base_url = base;
    return OpenAIChatModel(o).url();
  };
  EXPECT_EQ(url("https://api.openai.com"), "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(url("https://api.openai.com/v1/"), "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(url("http://localhost:11434"), "http://localhost:11434/v1/chat/completions");
  EXPECT_EQ(url("https://gw.example.com/llm/v1"), "https://gw.example.com/llm/v1/chat/completions");
  EXPECT_EQ(url("https://acme.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21"),
            "https://acme.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21");
  EXPECT_THROW(url("ftp://example.com"), std::invalid_argument);
  EXPECT_THROW(url("https://"), std::invalid_argument);
  EXPECT_THROW(url("https://h/#x"), std::invalid_argument);

  auto make = [](auto change) {
    OpenAIChatOptions o;
    change(o);
    OpenAIChatModel m(o);
  };
  EXPECT_THROW(make([](OpenAIChatOptions& o) { o.max_attempts = 0; }), std::invalid_argument);
  EXPECT_THROW(make([](OpenAIChatOptions& o) { o.idle_timeout = milliseconds(0); }), std::invalid_argument);
  EXPECT_THROW(make([](OpenAIChatOptions& o) { o.model.clear(); }), std::invalid_argument);
  EXPECT_THROW(make([](OpenAIChatOptions& o) { o.api_key = "a\nb"; }), std::invalid_argument);

  OpenAIChatModel model{OpenAIChatOptions{}};
  EXPECT_THROW(model.Chat(ChatRequest{}), std::invalid_argument);
}

}  // namespace
}  // namespace studio::llm
