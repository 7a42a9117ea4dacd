#include "search/tokenizer/tokenizer.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "search/tokenizer/fixture_cases.hpp"
#include "search/tokenizer/test_support.hpp"

namespace studio::search {
namespace {

using Ids = std::vector<int>;
using test_support::TokenizerTest;

TEST_F(TokenizerTest, KnownEncodings) {
  EXPECT_EQ(tok().Encode("hello world"), (Ids{15339, 1917}));
  EXPECT_EQ(tok().Encode(""), Ids{});
  EXPECT_EQ(tok().Encode(" "), (Ids{220}));
  EXPECT_EQ(tok().Encode("\n"), (Ids{198}));
  EXPECT_EQ(tok().VocabularySize(), 100256u);
  EXPECT_EQ(tok().TokenBytes(15339), "hello");
  EXPECT_EQ(tok().TokenBytes(1917), " world");
}

// The exactness check: every fixture text encodes to the ids gpt-tokenizer produced.
TEST_F(TokenizerTest, MatchesGptTokenizerOnEveryFixtureCase) {
  const auto& cases = test_support::Cl100kCases();
  ASSERT_GT(cases.size(), 400u);
  std::size_t tokens = 0;
  for (const auto& c : cases) {
    EXPECT_EQ(tok().Encode(c.text), c.tokens) << c.name;
    EXPECT_EQ(tok().Count(c.text), c.tokens.size()) << c.name;
    EXPECT_EQ(tok().Decode(c.tokens), c.text) << c.name;
    tokens += c.tokens.size();
  }
  EXPECT_GT(tokens, 10000u);
}

TEST_F(TokenizerTest, SpecialTokenStringsAreOrdinaryText) {
  const Ids ids = tok().Encode("<|endoftext|>");
  EXPECT_GT(ids.size(), 1u);
  for (int id : ids) EXPECT_LT(id, 100256);
}

TEST_F(TokenizerTest, InvalidUtf8RoundTrips) {
  const std::string bytes = std::string("ok \xff\xfe\xc3 then \xe4\xb8") + '\0' + "end\x80";
  const Ids ids = tok().Encode(bytes);
  EXPECT_EQ(tok().Decode(ids), bytes);
  EXPECT_EQ(tok().Count(bytes), ids.size());
}

TEST_F(TokenizerTest, LongPiecesUseTheSameMerges) {
  // 5000 letters are one piece: long enough for the heap merge, and a quadratic scan would crawl.
  std::string word;
  for (int i = 0; i < 1000; ++i) word += "abcde";
  const Ids ids = tok().Encode(word);
  EXPECT_EQ(tok().Decode(ids), word);
  EXPECT_LT(ids.size(), word.size() / 2);
}

TEST_F(TokenizerTest, DecodeRejectsUnknownIds) {
  EXPECT_THROW(tok().Decode(Ids{15339, 100256}), std::out_of_range);
  EXPECT_THROW(tok().Decode(Ids{-1}), std::out_of_range);
  EXPECT_THROW(tok().TokenBytes(1 << 30), std::out_of_range);
}

TEST_F(TokenizerTest, ConcurrentUseGivesTheSameResults) {
  const std::string text = "Concurrent tokenisation of the same immutable tables. 1234567 DON'T 日本語 😀\n\n";
  const Ids expected = tok().Encode(text);
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bool same = true;
      for (int i = 0; i < 200; ++i) same = same && tok().Encode(text) == expected;
      ok[static_cast<std::size_t>(t)] = same ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, (std::vector<int>{1, 1, 1, 1}));
}

TEST(TokenizerLoad, MissingFileNamesTheFetchScript) {
  try {
    Tokenizer::Load("/nonexistent/dir/cl100k_base.tiktoken");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("scripts/fetch-models.sh"), std::string::npos) << message;
    EXPECT_NE(message.find("/nonexistent/dir/cl100k_base.tiktoken"), std::string::npos) << message;
  }
}

TEST(TokenizerLoad, MalformedFileIsAnError) {
  const std::string path = ::testing::TempDir() + "/bad.tiktoken";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("IQ== 0\nnot base64!\n", f);
    std::fclose(f);
  }
  EXPECT_THROW(Tokenizer::Load(path), std::runtime_error);
  std::remove(path.c_str());
}

/// Sets an environment variable for one scope, restoring the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    had_ = std::getenv(name) != nullptr;
    if (value == nullptr) {
      unsetenv(name);
    } else {
      setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(TokenizerLoad, DefaultPathFollowsFetchModelsScript) {
  ScopedEnv home("HOME", "/home/u");
  ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
  ScopedEnv cache("STUDIO_CACHE_DIR", nullptr);
  {
    ScopedEnv models("STUDIO_MODELS_DIR", nullptr);
    EXPECT_EQ(Tokenizer::DefaultPath(), "/home/u/.cache/studio/models/cl100k_base.tiktoken");
    {
      ScopedEnv x("XDG_CACHE_HOME", "/xdg");
      EXPECT_EQ(Tokenizer::DefaultPath(), "/xdg/studio/models/cl100k_base.tiktoken");
      ScopedEnv c("STUDIO_CACHE_DIR", "/c");
      EXPECT_EQ(Tokenizer::DefaultPath(), "/c/models/cl100k_base.tiktoken");
    }
  }
  ScopedEnv models("STUDIO_MODELS_DIR", "/m");
  EXPECT_EQ(Tokenizer::DefaultPath(), "/m/cl100k_base.tiktoken");
}

}  // namespace
}  // namespace studio::search
