#pragma once
// A cache of remote embeddings, so a chunk that was embedded once (re-ingesting an unchanged
// document, the same boilerplate in many documents) is not paid for again.

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "search/embed/embedder.hpp"

namespace studio::search {

/// "<model>:<sha256 of text, hex>". `model` must name everything that changes the vectors (the
/// OpenAI embedder passes "<model>@<dimension>").
std::string EmbeddingCacheKey(std::string_view model, std::string_view text);

/// Batch-shaped so that a database-backed implementation can do one query per batch.
/// Implementations must be thread-safe.
class EmbeddingCache {
 public:
  virtual ~EmbeddingCache() = default;
  /// One entry per key, in order; std::nullopt for a miss.
  virtual std::vector<std::optional<Vector>> Get(std::span<const std::string> keys) = 0;
  /// Stores vectors[i] under keys[i]. The spans have the same length.
  virtual void Put(std::span<const std::string> keys, std::span<const Vector> vectors) = 0;
};

/// In memory, least recently used entries evicted beyond `max_entries` (one entry is
/// dimension × 4 bytes plus ~150 bytes: 4,096 entries of 1,536-d vectors ≈ 26 MB).
class LruEmbeddingCache final : public EmbeddingCache {
 public:
  /// Throws std::invalid_argument if max_entries == 0.
  explicit LruEmbeddingCache(std::size_t max_entries);
  ~LruEmbeddingCache() override;
  LruEmbeddingCache(const LruEmbeddingCache&) = delete;
  LruEmbeddingCache& operator=(const LruEmbeddingCache&) = delete;

  std::vector<std::optional<Vector>> Get(std::span<const std::string> keys) override;
  void Put(std::span<const std::string> keys, std::span<const Vector> vectors) override;
  std::size_t size() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace studio::search
