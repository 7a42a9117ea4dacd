#include "search/embed/openai_embedder.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "search/embed/embedding_cache.hpp"
#include "search/embed/make_embedder.hpp"
#include "tests/fakes/fake_server.hpp"

namespace studio::search {
namespace {

using std::chrono::milliseconds;
using Json = nlohmann::json;

constexpr const char* kKey = "sk-test-0123456789abcdefSECRET";

// Runs the test body's call and returns the studio::Error it throws (failing the test otherwise).
template <typename F>
Error CatchError(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no studio::Error thrown";
  return Error(0, "NONE", "", "");
}

class OpenAIEmbedderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fake_ = new fakes::FakeServer("fake_openai.py", {"--api-key", kKey}); }
  static void TearDownTestSuite() {
    delete fake_;
    fake_ = nullptr;
  }
  void SetUp() override { fake_->Post("/_fake/reset", "{}"); }

  OpenAIEmbedderOptions Options() {
    OpenAIEmbedderOptions o;
    o.base_url = fake_->base_url();
    o.api_key = kKey;
    o.model = "text-embedding-3-small";
    o.dimensions = 8;
    o.max_attempts = 3;
    o.request_timeout = milliseconds(10'000);
    o.sleep = [this](milliseconds d) {
      std::lock_guard lock(sleeps_mu_);
      sleeps_.push_back(d);
    };
    return o;
  }

  static void Faults(const Json& faults) { fake_->Post("/_fake/faults", Json{{"faults", faults}}.dump()); }
  static Json Requests() { return Json::parse(fake_->Get("/_fake/requests"))["requests"]; }

  static std::vector<std::string> Texts(int n) {
    std::vector<std::string> texts;
    texts.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) texts.push_back("chunk number " + std::to_string(i));
    return texts;
  }

  static inline fakes::FakeServer* fake_ = nullptr;
  std::mutex sleeps_mu_;
  std::vector<milliseconds> sleeps_;
};

TEST_F(OpenAIEmbedderTest, BatchesInputsAndKeepsTheirOrder) {
  fake_->Post("/_fake/options", R"({"reverse_data": true})");  // the client must order by `index`
  OpenAIEmbedder e(Options());
  EXPECT_EQ(e.name(), "openai");
  EXPECT_EQ(e.model(), "text-embedding-3-small");
  EXPECT_EQ(e.dimension(), 8);
  const auto texts = Texts(250);
  const auto vectors = e.Embed(texts);
  ASSERT_EQ(vectors.size(), 250U);
  const Json requests = Requests();
  ASSERT_EQ(requests.size(), 3U);
  const std::size_t sizes[] = {100, 100, 50};
  for (std::size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(requests[r]["path"], "/v1/embeddings");  // nothing (like a key) in the URL
    EXPECT_EQ(requests[r]["authorized"], true);
    EXPECT_EQ(requests[r]["status"], 200);
    const Json& body = requests[r]["body"];
    EXPECT_EQ(body["model"], "text-embedding-3-small");
    EXPECT_EQ(body["dimensions"], 8);
    EXPECT_EQ(body["encoding_format"], "float");
    ASSERT_EQ(body["input"].size(), sizes[r]);
    EXPECT_EQ(body["input"][0], texts[r * 100]);
  }
  for (const auto& v : vectors) {
    ASSERT_EQ(v.size(), 8U);
    double norm = 0;
    for (float x : v) norm += double{x} * x;
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }
  for (const std::size_t i : {0U, 137U, 249U}) {
    const std::vector<std::string> one = {texts[i]};
    EXPECT_EQ(e.Embed(one)[0], vectors[i]) << i;
  }
  EXPECT_NE(vectors[0], vectors[1]);
}

TEST_F(OpenAIEmbedderTest, CacheAndDeduplicationAvoidRequests) {
  auto options = Options();
  options.cache = std::make_shared<LruEmbeddingCache>(100);
  OpenAIEmbedder e(options);
  const auto first = e.Embed(std::vector<std::string>{"alpha", "beta", "alpha"});
  EXPECT_EQ(first[0], first[2]);
  ASSERT_EQ(Requests().size(), 1U);
  EXPECT_EQ(Requests()[0]["body"]["input"], Json::array({"alpha", "beta"}));

  const auto cached = e.Embed(std::vector<std::string>{"beta", "alpha"});
  EXPECT_EQ(Requests().size(), 1U);  // all hits: no request
  EXPECT_EQ(cached[0], first[1]);
  EXPECT_EQ(cached[1], first[0]);

  const auto partly = e.Embed(std::vector<std::string>{"alpha", "gamma"});
  const Json requests = Requests();
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[1]["body"]["input"], Json::array({"gamma"}));
  EXPECT_EQ(partly[0], first[0]);
}

TEST_F(OpenAIEmbedderTest, WaitsOutRetryAfterThenSucceeds) {
  Faults(Json::array({{{"status", 429}, {"retry_after", "1"}}}));
  OpenAIEmbedder e(Options());
  const auto vectors = e.Embed(Texts(3));
  EXPECT_EQ(vectors.size(), 3U);
  const Json requests = Requests();
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[0]["status"], 429);
  EXPECT_EQ(requests[1]["status"], 200);
  EXPECT_EQ(requests[1]["body"], requests[0]["body"]);
  EXPECT_EQ(sleeps_, std::vector<milliseconds>{milliseconds(1000)});
}

TEST_F(OpenAIEmbedderTest, RetriesServerErrorsWithJitteredExponentialBackoff) {
  Faults(Json::array({{{"status", 503}, {"count", 1}}, {{"status", 500}, {"count", 1}}}));
  OpenAIEmbedder e(Options());  // backoff_base 500 ms
  EXPECT_EQ(e.Embed(Texts(2)).size(), 2U);
  EXPECT_EQ(Requests().size(), 3U);
  ASSERT_EQ(sleeps_.size(), 2U);
  EXPECT_GE(sleeps_[0], milliseconds(250));
  EXPECT_LE(sleeps_[0], milliseconds(500));
  EXPECT_GE(sleeps_[1], milliseconds(500));
  EXPECT_LE(sleeps_[1], milliseconds(1000));
}

TEST_F(OpenAIEmbedderTest, PersistentServerErrorsEndInServiceUnavailableWithoutTheKey) {
  Faults(Json::array({{{"status", 500}, {"count", 10}}}));
  OpenAIEmbedder e(Options());
  std::optional<ServiceUnavailable> caught;
  try {
    e.Embed(Texts(2));
  } catch (const ServiceUnavailable& unavailable) {
    caught = unavailable;
  }
  ASSERT_TRUE(caught.has_value());
  const Error& error = *caught;
  EXPECT_EQ(error.status(), 503);
  EXPECT_EQ(error.code(), "EMBEDDING_UNAVAILABLE");
  EXPECT_NE(std::string(error.what()).find("HTTP 500 after 3 attempts"), std::string::npos) << error.what();
  EXPECT_EQ(std::string(error.what()).find(kKey), std::string::npos);
  EXPECT_EQ(Requests().size(), 3U);  // max_attempts
  EXPECT_EQ(sleeps_.size(), 2U);
}

TEST_F(OpenAIEmbedderTest, RetryAfterBeyondTheCapEndsRetriesAtOnce) {
  Faults(Json::array({{{"status", 429}, {"retry_after", "120"}}}));
  OpenAIEmbedder e(Options());  // max_retry_after 60 s
  const Error seconds = CatchError([&] { e.Embed(Texts(1)); });
  EXPECT_EQ(seconds.code(), "EMBEDDING_UNAVAILABLE");
  ASSERT_EQ(seconds.headers().size(), 1U);
  EXPECT_EQ(seconds.headers()[0].second, "120");
  EXPECT_EQ(Requests().size(), 1U);
  EXPECT_TRUE(sleeps_.empty());

  Faults(Json::array({{{"status", 503}, {"retry_after_date_in", 3600}}}));  // an HTTP date
  const Error date = CatchError([&] { e.Embed(Texts(1)); });
  EXPECT_EQ(date.code(), "EMBEDDING_UNAVAILABLE");
  ASSERT_EQ(date.headers().size(), 1U);
  EXPECT_GT(std::stoi(date.headers()[0].second), 3000);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(OpenAIEmbedderTest, WrongKeyIsAClearErrorThatIsNotRetriedAndDoesNotLeakTheKey) {
  auto options = Options();
  options.api_key = "sk-wrong-key-abcdefghijklmnop9876";
  OpenAIEmbedder e(options);
  const Error error = CatchError([&] { e.Embed(Texts(1)); });
  EXPECT_EQ(error.code(), "EMBEDDING_AUTH_FAILED");
  EXPECT_EQ(error.status(), 502);
  const std::string message = error.what();
  EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
  EXPECT_NE(message.find("API key"), std::string::npos) << message;
  EXPECT_EQ(message.find("sk-wrong"), std::string::npos) << message;
  EXPECT_EQ(message.find("9876"), std::string::npos) << message;  // OpenAI's body quotes the key's tail
  EXPECT_EQ(Requests().size(), 1U);
  EXPECT_EQ(Requests()[0]["authorized"], false);

  options.api_key.clear();  // no Authorization header at all
  OpenAIEmbedder keyless(options);
  EXPECT_EQ(CatchError([&] { keyless.Embed(Texts(1)); }).code(), "EMBEDDING_AUTH_FAILED");
}

TEST_F(OpenAIEmbedderTest, OtherClientErrorsAreRejectedWithTheServersMessage) {
  auto options = Options();
  options.model = "no-such-model";
  OpenAIEmbedder e(options);
  const Error error = CatchError([&] { e.Embed(Texts(1)); });
  EXPECT_EQ(error.code(), "EMBEDDING_REJECTED");
  EXPECT_NE(std::string(error.what()).find("does not exist"), std::string::npos) << error.what();
  EXPECT_EQ(Requests().size(), 1U);

  Faults(Json::array({{{"status", 429}, {"code", "insufficient_quota"}}}));  // waiting does not help
  OpenAIEmbedder quota(Options());
  EXPECT_EQ(CatchError([&] { quota.Embed(Texts(1)); }).code(), "EMBEDDING_REJECTED");
  EXPECT_EQ(Requests().size(), 2U);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(OpenAIEmbedderTest, MalformedResponsesAreRejected) {
  OpenAIEmbedder e(Options());
  const Json wrong_dimension = {{"object", "list"},
                                {"data", {{{"object", "embedding"}, {"index", 0}, {"embedding", {0.6, 0.8}}}}}};
  const Json missing_item = {{"object", "list"}, {"data", Json::array()}};
  const Json repeated_index = {
      {"object", "list"},
      {"data",
       {{{"object", "embedding"}, {"index", 0}, {"embedding", Json(std::vector<double>(8, 0.1))}},
        {{"object", "embedding"}, {"index", 0}, {"embedding", Json(std::vector<double>(8, 0.1))}}}}};
  for (const Json& body : {wrong_dimension, missing_item}) {
    Faults(Json::array({{{"status", 200}, {"body", body}}}));
    EXPECT_EQ(CatchError([&] { e.Embed(Texts(1)); }).code(), "EMBEDDING_BAD_RESPONSE") << body;
  }
  Faults(Json::array({{{"status", 200}, {"body", repeated_index}}}));
  EXPECT_EQ(CatchError([&] { e.Embed(Texts(2)); }).code(), "EMBEDDING_BAD_RESPONSE");
  Faults(Json::array({{{"status", 200}, {"body", "not an object"}}}));
  EXPECT_EQ(CatchError([&] { e.Embed(Texts(1)); }).code(), "EMBEDDING_BAD_RESPONSE");
}

TEST_F(OpenAIEmbedderTest, TimeoutsAndDroppedConnectionsAreRetried) {
  Faults(Json::array({{{"delay_ms", 3000}}, {{"drop", true}}}));
  auto options = Options();
  options.request_timeout = milliseconds(300);
  OpenAIEmbedder e(options);
  EXPECT_EQ(e.Embed(Texts(1)).size(), 1U);
  EXPECT_EQ(Requests().size(), 3U);
  EXPECT_EQ(sleeps_.size(), 2U);
}

TEST_F(OpenAIEmbedderTest, UnreachableServerEndsInServiceUnavailable) {
  auto options = Options();
  options.base_url = "http://127.0.0.1:1";  // nothing listens on port 1
  options.max_attempts = 2;
  OpenAIEmbedder e(options);
  const Error error = CatchError([&] { e.Embed(Texts(1)); });
  EXPECT_EQ(error.code(), "EMBEDDING_UNAVAILABLE");
  EXPECT_EQ(sleeps_.size(), 1U);
}

TEST_F(OpenAIEmbedderTest, EmptyTextsAreSentAsASpace) {
  OpenAIEmbedder e(Options());
  const auto vectors = e.Embed(std::vector<std::string>{"", "x"});
  EXPECT_EQ(vectors.size(), 2U);
  EXPECT_EQ(Requests()[0]["body"]["input"], Json::array({" ", "x"}));
}

TEST_F(OpenAIEmbedderTest, ConcurrentCallsAllSucceed) {
  OpenAIEmbedder e(Options());
  std::vector<std::vector<Vector>> results(4);
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&e, &results, t] { results[t] = e.Embed(Texts(20 + t)); });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(results[t].size(), static_cast<std::size_t>(20 + t));
  EXPECT_EQ(results[0][5], results[3][5]);  // same text, same vector
  EXPECT_EQ(Requests().size(), 4U);
}

TEST_F(OpenAIEmbedderTest, BaseUrlMayEndInV1AndTheFactoryBuildsIt) {
  EmbedderConfig config;
  config.kind = EmbedderKind::kOpenAI;
  config.base_url = fake_->base_url() + "/v1/";
  config.api_key = kKey;
  config.dimensions = 8;
  const auto e = MakeEmbedder(config);
  EXPECT_EQ(e->name(), "openai");
  EXPECT_EQ(e->Embed(Texts(2)).size(), 2U);
  EXPECT_EQ(e->Embed(Texts(2)).size(), 2U);  // the factory's cache answers the second call
  const Json requests = Requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0]["path"], "/v1/embeddings");
}

TEST(OpenAIEmbedderOptions, AreValidated) {
  auto make = [](auto change) {
    OpenAIEmbedderOptions o;
    o.api_key = "k";
    change(o);
    return OpenAIEmbedder(o).dimension();
  };
  EXPECT_EQ(make([](OpenAIEmbedderOptions&) {}), 1536);
  EXPECT_EQ(make([](OpenAIEmbedderOptions& o) { o.model = "text-embedding-3-large"; }), 3072);
  EXPECT_EQ(make([](OpenAIEmbedderOptions& o) { o.dimensions = 256; }), 256);
  EXPECT_THROW(make([](OpenAIEmbedderOptions& o) { o.model = "nomic-embed-text"; }), std::invalid_argument);
  EXPECT_THROW(make([](OpenAIEmbedderOptions& o) { o.base_url = "ftp://example.com"; }), std::invalid_argument);
  EXPECT_THROW(make([](OpenAIEmbedderOptions& o) { o.base_url = "https://h/?key=1"; }), std::invalid_argument);
  EXPECT_THROW(make([](OpenAIEmbedderOptions& o) { o.batch_size = 0; }), std::invalid_argument);
  EXPECT_THROW(make([](OpenAIEmbedderOptions& o) { o.max_attempts = 0; }), std::invalid_argument);
  EXPECT_THROW(make([](OpenAIEmbedderOptions& o) { o.api_key = "a\nb"; }), std::invalid_argument);
}

}  // namespace
}  // namespace studio::search
