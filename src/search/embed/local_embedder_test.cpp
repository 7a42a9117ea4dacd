#include "search/embed/local_embedder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "search/embed/make_embedder.hpp"
#include "search/embed/word_vectors.hpp"

namespace studio::search {
namespace {

namespace fs = std::filesystem;

double Dot(const Vector& a, const Vector& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += double{a[i]} * b[i];
  return s;
}

double Norm(const Vector& v) { return std::sqrt(Dot(v, v)); }

// --- A tiny model, converted by the real scripts/convert-embeddings.mjs ------------------------------
// Checks that the converter and the loader agree on the format (including the hash function).

class TinyModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("command -v node >/dev/null 2>&1") != 0) {
      skip_reason_ = "node is not installed (needed to run scripts/convert-embeddings.mjs)";
      return;
    }
    dir_ = fs::path(::testing::TempDir()) / ("tiny-model-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // The wink-embeddings layout: 4 components, then the L2 norm, then the word index.
    const std::vector<std::pair<std::string, std::vector<double>>> words = {
        {"the", {1, 0.5, 0, 0}},      {",", {0.9, 0.4, 0.1, 0}},          {"cat", {0.2, 1, 0.3, 0}},
        {"dog", {0.3, 0.9, 0.4, 0}},  {"e-mail", {0, 0.1, 0, 1}},         {"mail", {0, 0.2, 0.9, 0.8}},
        {"stock", {0.1, 0, 1, -0.5}}, {"market", {0.2, -0.1, 0.9, -0.6}},
    };
    nlohmann::json model = {{"precision", 8},
                            {"l2NormIndex", 4},
                            {"wordIndex", 5},
                            {"size", words.size()},
                            {"dimensions", 4},
                            {"words", nlohmann::json::array()},
                            {"vectors", nlohmann::json::object()},
                            {"unkVector", {0, 0, 0, 0, 0, -1}}};
    for (std::size_t i = 0; i < words.size(); ++i) {
      auto v = words[i].second;
      double norm = 0;
      for (double x : v) norm += x * x;
      v.push_back(std::sqrt(norm));
      v.push_back(static_cast<double>(i));
      model["words"].push_back(words[i].first);
      model["vectors"][words[i].first] = v;
    }
    std::ofstream(dir_ / "tiny.json") << model.dump();
    const std::string command = "node " STUDIO_SCRIPTS_DIR "/convert-embeddings.mjs " + (dir_ / "tiny.json").string() +
                                " " + (dir_ / "tiny.bin").string() + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("convert-embeddings.mjs failed: " + command);
  }

  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  }

  static std::string Path() { return (dir_ / "tiny.bin").string(); }

  // What the embedder should produce for these words: Σ weight · v, common component removed, unit.
  static Vector Expected(const WordVectors& wv, const std::vector<std::string>& words) {
    Vector sum(4, 0);
    for (const auto& w : words) {
      const auto i = wv.Find(w).value();
      for (int k = 0; k < 4; ++k) sum[k] += wv.Weight(i) * wv.Vector(i)[k];
    }
    const auto pc = wv.CommonComponent();
    double dot = 0;
    for (int k = 0; k < 4; ++k) dot += sum[k] * pc[k];
    for (int k = 0; k < 4; ++k) sum[k] -= static_cast<float>(dot) * pc[k];
    const double norm = Norm(sum);
    for (auto& x : sum) x = static_cast<float>(x / norm);
    return sum;
  }

  static inline fs::path dir_;
  static inline std::string skip_reason_;
};

TEST_F(TinyModel, LoaderReadsWhatTheConverterWrote) {
  const WordVectors wv(Path());
  EXPECT_EQ(wv.dimension(), 4);
  EXPECT_EQ(wv.size(), 8U);
  EXPECT_FLOAT_EQ(wv.sif_a(), 1e-3F);
  EXPECT_EQ(wv.Find("the"), 0U);
  EXPECT_EQ(wv.Find("cat"), 2U);
  EXPECT_EQ(wv.Find("market"), 7U);
  EXPECT_EQ(wv.Find("e-mail"), 4U);
  EXPECT_FALSE(wv.Find("cow").has_value());
  EXPECT_FALSE(wv.Find("").has_value());
  EXPECT_EQ(wv.Word(3), "dog");
  EXPECT_FLOAT_EQ(wv.Vector(2)[1], 1.0F);
  EXPECT_FLOAT_EQ(wv.Vector(7)[3], -0.6F);
  // Zipf: weights grow as words get rarer; "the" is almost ignored.
  for (std::uint32_t i = 1; i < wv.size(); ++i) EXPECT_GT(wv.Weight(i), wv.Weight(i - 1)) << i;
  EXPECT_LT(wv.Weight(0), 0.01F);
  double norm = 0;
  for (float x : wv.CommonComponent()) norm += double{x} * x;
  EXPECT_NEAR(norm, 1.0, 1e-6);
}

TEST_F(TinyModel, EmbedsWithSifWeightsAndCommonComponentRemoved) {
  LocalEmbedder e(Path());
  const WordVectors wv(Path());
  EXPECT_EQ(e.name(), "local");
  EXPECT_EQ(e.model(), "glove-100d-sif");
  EXPECT_EQ(e.dimension(), 4);
  const Vector v = e.EmbedOne("The CAT, the dog!");
  const Vector expected = Expected(wv, {"the", "cat", "the", "dog"});
  ASSERT_EQ(v.size(), 4U);
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(v[k], expected[k], 1e-5) << k;
  // The result has no component along the common direction.
  double along = 0;
  for (int k = 0; k < 4; ++k) along += v[k] * wv.CommonComponent()[k];
  EXPECT_NEAR(along, 0.0, 1e-5);
}

TEST_F(TinyModel, UnknownWordsAreIgnoredAndHyphenatedWordsFallBackToTheirParts) {
  LocalEmbedder e(Path());
  const WordVectors wv(Path());
  EXPECT_EQ(e.EmbedOne("cat zzyzx dog"), e.EmbedOne("cat dog"));
  const Vector email = e.EmbedOne("e-mail");
  const Vector expected_email = Expected(wv, {"e-mail"});
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(email[k], expected_email[k], 1e-5);
  const Vector parts = e.EmbedOne("stock-market");  // not in the vocabulary as a whole
  const Vector expected_parts = Expected(wv, {"stock", "market"});
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(parts[k], expected_parts[k], 1e-5);
}

TEST_F(TinyModel, RejectsTruncatedAndForeignFiles) {
  const fs::path truncated = dir_ / "truncated.bin";
  fs::copy_file(Path(), truncated, fs::copy_options::overwrite_existing);
  fs::resize_file(truncated, fs::file_size(truncated) - 4);
  EXPECT_THROW(LocalEmbedder{truncated.string()}, std::runtime_error);
  const fs::path foreign = dir_ / "foreign.bin";
  std::ofstream(foreign) << std::string(4096, 'x');
  EXPECT_THROW(LocalEmbedder{foreign.string()}, std::runtime_error);
  EXPECT_THROW(LocalEmbedder{(dir_ / "missing.bin").string()}, std::runtime_error);
  try {
    LocalEmbedder{(dir_ / "missing.bin").string()};
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.bin"), std::string::npos) << e.what();
  }
}

TEST_F(TinyModel, FactoryFindsTheModelInTheModelsDirectory) {
  EmbedderConfig config;
  config.models_dir = dir_.string();
  EXPECT_THROW(MakeEmbedder(config), std::runtime_error);  // glove-100d.bin is not there yet
  fs::copy_file(Path(), dir_ / "glove-100d.bin", fs::copy_options::overwrite_existing);
  const auto e = MakeEmbedder(config);
  EXPECT_EQ(e->name(), "local");
  EXPECT_EQ(e->dimension(), 4);
}

TEST(MakeEmbedder, ParsesKinds) {
  EXPECT_EQ(ParseEmbedderKind("local"), EmbedderKind::kLocal);
  EXPECT_EQ(ParseEmbedderKind("openai"), EmbedderKind::kOpenAI);
  EXPECT_THROW(ParseEmbedderKind("OpenAI"), std::invalid_argument);
  EXPECT_THROW(ParseEmbedderKind(""), std::invalid_argument);
}

// --- The real model (scripts/fetch-models.sh) --------------------------------------------------------

class RealModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = DefaultModelsDir() + "/glove-100d.bin";
    if (fs::exists(path)) embedder_ = new LocalEmbedder(path);
  }
  static void TearDownTestSuite() {
    delete embedder_;
    embedder_ = nullptr;
  }
  void SetUp() override {
    if (embedder_ != nullptr) return;
    const char* require = std::getenv("STUDIO_REQUIRE_MODELS");
    if (require != nullptr && std::string(require) == "1") {
      FAIL() << "glove-100d.bin is missing from " << DefaultModelsDir() << ": run scripts/fetch-models.sh";
    }
    GTEST_SKIP() << "glove-100d.bin is missing from " << DefaultModelsDir() << " (run scripts/fetch-models.sh)";
  }

  static double Similarity(const std::string& a, const std::string& b) {
    return Dot(embedder_->EmbedOne(a), embedder_->EmbedOne(b));
  }

  static inline LocalEmbedder* embedder_ = nullptr;
};

TEST_F(RealModel, SimilarSentencesScoreHigherThanUnrelatedOnes) {
  EXPECT_EQ(embedder_->dimension(), 100);
  const std::string password = "How do I reset my password?";
  const std::string login = "I forgot my login credentials";
  const std::string weather = "The weather in Paris is sunny";
  EXPECT_GT(Similarity(password, login), Similarity(password, weather));
  EXPECT_GT(Similarity(password, login), Similarity(login, weather));

  const std::string refund = "Can I get a refund for my order?";
  const std::string money_back = "I want my money back for this purchase";
  const std::string football = "The football match ended in a draw";
  EXPECT_GT(Similarity(refund, money_back), Similarity(refund, football));
  EXPECT_GT(Similarity(refund, money_back), Similarity(money_back, football));

  // Retrieval: each query's best match among the passages is the right one. (Word vectors need some
  // shared or related words; "When will I get my money back?" does not find the refunds passage.)
  const std::vector<std::string> passages = {
      "To change your password, open Settings, choose Security and click Reset password.",
      "Refunds are issued to the original payment method within five business days.",
      "You can cancel your subscription at any time from the Billing page.",
      "The mobile app is available for iPhone and Android phones.",
      "If your package arrives damaged, send us a photo and we will ship a replacement.",
      "Students and teachers get a 50 percent discount with a valid school email address.",
      "You can track your order with the tracking number in your confirmation email.",
      "Our support team is available by chat from 9am to 6pm, Monday to Friday.",
  };
  const std::vector<std::pair<std::string, std::size_t>> queries = {
      {"I can't log in, how do I change my password?", 0}, {"How do I stop my subscription?", 2},
      {"Is there an app for my smartphone?", 3},           {"my package was crushed in transit", 4},
      {"Do you have an education discount?", 5},
  };
  const auto vectors = embedder_->Embed(passages);
  for (const auto& [query, expected] : queries) {
    const Vector q = embedder_->EmbedOne(query);
    std::size_t best = 0;
    for (std::size_t i = 1; i < vectors.size(); ++i) {
      if (Dot(q, vectors[i]) > Dot(q, vectors[best])) best = i;
    }
    EXPECT_EQ(best, expected) << query << " found: " << passages[best];
  }
}

TEST_F(RealModel, IsDeterministicAcrossCallsBatchesAndThreads) {
  const std::vector<std::string> texts = {"The cat sat on the mat.", "", "qzxv-9000 unknown", "Stock markets fell."};
  const auto first = embedder_->Embed(texts);
  const auto second = embedder_->Embed(std::vector<std::string>(texts.rbegin(), texts.rend()));
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(first[i], second[texts.size() - 1 - i]) << i;
  std::vector<std::vector<Vector>> from_threads(4);
  std::vector<std::thread> threads;
  threads.reserve(from_threads.size());
  for (auto& out : from_threads) {
    threads.emplace_back([&out, &texts] { out = embedder_->Embed(texts); });
  }
  for (auto& t : threads) t.join();
  for (const auto& out : from_threads) EXPECT_EQ(out, first);
}

TEST_F(RealModel, VectorsAreUnitLength) {
  for (const std::string text : {"hello", "The quick brown fox jumps over the lazy dog.", "", "!!!", "12345",
                                 "Ünïcödé ŧëxŧ", "the the the the"}) {
    const Vector v = embedder_->EmbedOne(text);
    ASSERT_EQ(v.size(), 100U);
    EXPECT_NEAR(Norm(v), 1.0, 1e-5) << text;
  }
}

TEST_F(RealModel, TextsWithoutKnownWordsGetDistinctDeterministicVectors) {
  const Vector a = embedder_->EmbedOne("QZXJ-9000");
  const Vector b = embedder_->EmbedOne("QZXJ-9001");
  const Vector c = embedder_->EmbedOne("qwpzk vbnrt");
  const Vector empty = embedder_->EmbedOne("");
  EXPECT_EQ(a, embedder_->EmbedOne("QZXJ-9000"));
  EXPECT_EQ(empty, embedder_->EmbedOne(""));
  EXPECT_NE(empty, embedder_->EmbedOne("?"));
  EXPECT_GT(Dot(a, b), 0.5);            // share most trigrams
  EXPECT_LT(std::abs(Dot(a, c)), 0.5);  // share none
  // OOV words next to known words are ignored.
  EXPECT_EQ(embedder_->EmbedOne("password qwpzk reset"), embedder_->EmbedOne("password reset"));
}

}  // namespace
}  // namespace studio::search
