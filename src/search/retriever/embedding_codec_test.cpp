#include "search/retriever/embedding_codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace studio::search {
namespace {

class FixedEmbedder final : public Embedder {
 public:
  std::string_view name() const override { return "openai"; }
  std::string model() const override { return "text-embedding-3-small"; }
  int dimension() const override { return 3; }
  std::vector<Vector> Embed(std::span<const std::string> texts) override {
    return std::vector<Vector>(texts.size(), Vector{1, 0, 0});
  }
};

TEST(EmbeddingCodec, KnownBytesAreLittleEndianFloat32InBase64Url) {
  // 1.0f is 0x3F800000: bytes 00 00 80 3F.
  EXPECT_EQ(EncodeEmbedding(std::vector<float>{1.0f}), "AACAPw");
  EXPECT_EQ(DecodeEmbedding("AACAPw"), Vector{1.0f});
}

TEST(EmbeddingCodec, RoundTripsExactly) {
  const Vector v{0.0f, -0.0f, 1.5f, -2.25e-3f, std::numeric_limits<float>::denorm_min(), 3.4e38f, -1e-30f};
  const std::string text = EncodeEmbedding(v);
  EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
  const auto back = DecodeEmbedding(text, static_cast<int>(v.size()));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(std::signbit((*back)[i]), std::signbit(v[i]));
    EXPECT_EQ((*back)[i], v[i]);
  }
}

TEST(EmbeddingCodec, RejectsDamagedRows) {
  const std::string two = EncodeEmbedding(std::vector<float>{1, 2});
  EXPECT_FALSE(DecodeEmbedding(two, 3));  // wrong dimension
  EXPECT_TRUE(DecodeEmbedding(two, 2));
  EXPECT_FALSE(DecodeEmbedding(""));          // no components
  EXPECT_FALSE(DecodeEmbedding("AACA"));      // 3 bytes
  EXPECT_FALSE(DecodeEmbedding("AACAPw=="));  // padding
  EXPECT_FALSE(DecodeEmbedding("AAC+Pw"));    // not base64url
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(DecodeEmbedding(EncodeEmbedding(std::vector<float>{1, nan})));
  EXPECT_FALSE(DecodeEmbedding(EncodeEmbedding(std::vector<float>{inf})));
}

TEST(EmbeddingCodec, ModelIdAndIdentityNameTheVectorSpace) {
  FixedEmbedder embedder;
  EXPECT_EQ(EmbeddingModelId(embedder), "openai/text-embedding-3-small/3");
  EXPECT_EQ(IdentityOf(embedder), (IndexIdentity{"openai", "text-embedding-3-small", 3}));
}

}  // namespace
}  // namespace studio::search
