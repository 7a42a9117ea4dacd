#pragma once
// Read-only, memory-mapped view of the word-vector file written by scripts/convert-embeddings.mjs
// (the layout is documented there). Mapping instead of reading makes loading take milliseconds, and
// the pages are shared by every process on the machine; the rare-word tail is never paged in.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace studio::search {

class WordVectors {
 public:
  /// The file format version this code reads.
  static constexpr std::uint32_t kVersion = 1;

  /// Maps `path` and checks its header and index tables. Throws std::runtime_error naming the
  /// path and the problem (missing, truncated, wrong magic or version, inconsistent tables).
  explicit WordVectors(const std::string& path);
  ~WordVectors();
  WordVectors(const WordVectors&) = delete;
  WordVectors& operator=(const WordVectors&) = delete;

  int dimension() const { return static_cast<int>(dimension_); }
  /// Number of words.
  std::uint32_t size() const { return count_; }
  /// The SIF constant a the weights were computed with.
  float sif_a() const { return sif_a_; }

  /// The index (frequency rank, 0 = most frequent) of `word`, which must be lower-case UTF-8.
  std::optional<std::uint32_t> Find(std::string_view word) const;
  std::string_view Word(std::uint32_t index) const;
  std::span<const float> Vector(std::uint32_t index) const;
  /// The SIF weight a / (a + p(w)) of the word.
  float Weight(std::uint32_t index) const { return weights_[index]; }
  /// Unit vector: the common component that the local embedder projects out.
  std::span<const float> CommonComponent() const { return {common_, dimension_}; }

 private:
  const unsigned char* base_ = nullptr;
  std::size_t bytes_ = 0;
  std::uint32_t dimension_ = 0;
  std::uint32_t count_ = 0;
  std::uint32_t slots_ = 0;
  float sif_a_ = 0;
  const unsigned char* words_ = nullptr;
  const float* vectors_ = nullptr;
  const float* weights_ = nullptr;
  const float* common_ = nullptr;
  const std::uint32_t* word_offsets_ = nullptr;
  const std::uint32_t* hash_ = nullptr;
};

/// FNV-1a, 32 bits: the hash of the file's word table (the converter computes the same).
std::uint32_t Fnv1a32(std::string_view bytes);

}  // namespace studio::search
