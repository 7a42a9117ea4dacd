#include "search/retriever/embedding_codec.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "auth/secrets.hpp"

namespace studio::search {
namespace {

static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559, "float must be IEEE-754 binary32");

std::uint32_t ToLittleEndian(std::uint32_t v) {
  if constexpr (std::endian::native == std::endian::big) return __builtin_bswap32(v);
  return v;
}

}  // namespace

std::string EmbeddingModelId(const Embedder& embedder) {
  return std::string(embedder.name()) + "/" + embedder.model() + "/" + std::to_string(embedder.dimension());
}

IndexIdentity IdentityOf(const Embedder& embedder) {
  return {std::string(embedder.name()), embedder.model(), embedder.dimension()};
}

std::string EncodeEmbedding(std::span<const float> vector) {
  std::string bytes(vector.size() * 4, '\0');
  for (std::size_t i = 0; i < vector.size(); ++i) {
    const std::uint32_t word = ToLittleEndian(std::bit_cast<std::uint32_t>(vector[i]));
    std::memcpy(bytes.data() + i * 4, &word, 4);
  }
  return auth::Base64UrlEncode(bytes);
}

std::optional<Vector> DecodeEmbedding(std::string_view text, int dimension) {
  std::optional<std::string> bytes = auth::Base64UrlDecode(text);
  if (!bytes || bytes->empty() || bytes->size() % 4 != 0) return std::nullopt;
  const std::size_t n = bytes->size() / 4;
  if (dimension > 0 && n != static_cast<std::size_t>(dimension)) return std::nullopt;
  Vector out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t word = 0;
    std::memcpy(&word, bytes->data() + i * 4, 4);
    out[i] = std::bit_cast<float>(ToLittleEndian(word));
    if (!std::isfinite(out[i])) return std::nullopt;
  }
  return out;
}

}  // namespace studio::search
