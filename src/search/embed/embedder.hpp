#pragma once
// One interface for turning text into vectors. Two implementations: `local` (pretrained word
// vectors, no network; the default) and `openai` (any OpenAI-compatible /v1/embeddings).
// Every index records name()/model()/dimension() of the embedder that built it, so switching
// embedders re-embeds instead of mixing vectors from different spaces.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace studio::search {

/// A dense vector. Embedders return them L2-normalised, so inner product = cosine similarity.
using Vector = std::vector<float>;

class Embedder {
 public:
  virtual ~Embedder() = default;

  /// "local" or "openai".
  virtual std::string_view name() const = 0;
  /// The model that produced the vectors (e.g. "glove-100d-sif", "text-embedding-3-small").
  virtual std::string model() const = 0;
  /// Length of every vector Embed returns.
  virtual int dimension() const = 0;
  /// One vector per text, in order. Thread-safe. Throws studio::ServiceUnavailable when a
  /// remote embedder cannot be reached after its retries.
  virtual std::vector<Vector> Embed(std::span<const std::string> texts) = 0;
};

}  // namespace studio::search
