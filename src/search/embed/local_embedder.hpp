#pragma once
// The `local` embedder: pretrained GloVe word vectors combined with SIF (Arora, Liang & Ma 2017,
// "A Simple but Tough-to-Beat Baseline for Sentence Embeddings"). No network; 4,000-8,000 chunks of 750
// words per second per thread (Release, embed_bench).

#include <memory>
#include <string>
#include <string_view>

#include "search/embed/embedder.hpp"

namespace studio::search {

class WordVectors;

/// text → SplitWords (words.hpp) → Σ a/(a + p(w)) · v_w over the words in the vocabulary (a hyphenated
/// word that is not falls back to its parts; other unknown words are ignored) → minus its projection
/// on the common component → L2-normalised. The SIF weights and the common component are computed
/// once by scripts/convert-embeddings.mjs and stored in the model file (how, and why, is explained
/// there).
///
/// A text with no known word (empty, digits only, a product code, another script) still gets a
/// deterministic unit vector: the sum of pseudo-random ±1 vectors seeded by the hash of each
/// character trigram of its words (of its raw bytes when it has no word at all), the same trick as
/// fastText's subword buckets. Such texts are near-orthogonal to ordinary text and to each other,
/// unless they share trigrams ("XJ-9000" is close to "XJ-9001"): they neither collide with each
/// other nor attract unrelated queries.
///
/// Immutable after construction, so Embed is thread-safe without locks.
class LocalEmbedder final : public Embedder {
 public:
  static constexpr std::string_view kName = "local";
  static constexpr std::string_view kModel = "glove-100d-sif";
  /// The file name under the models directory (scripts/fetch-models.sh writes it).
  static constexpr std::string_view kFileName = "glove-100d.bin";

  /// Maps the model file. Throws std::runtime_error if it is missing or malformed.
  explicit LocalEmbedder(const std::string& path);
  ~LocalEmbedder() override;

  std::string_view name() const override { return kName; }
  std::string model() const override { return std::string(kModel); }
  int dimension() const override;
  std::vector<Vector> Embed(std::span<const std::string> texts) override;

  /// One text; what Embed does for each.
  Vector EmbedOne(std::string_view text) const;

 private:
  std::unique_ptr<const WordVectors> vectors_;
};

}  // namespace studio::search
