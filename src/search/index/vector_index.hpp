#pragma once
// One workspace's vector index: hnswlib HNSW over inner product on L2-normalised vectors (so a
// score is the cosine similarity), labelled with chunk row ids from the database.
//
// Durability model: the database is the source of truth; this index is a cache of it that is
// saved now and then. Save records a caller-supplied watermark (the highest database change
// sequence the index contains), so after a crash the caller loads the last save and replays the
// changes after its watermark. Add and Remove are idempotent, which makes replay safe.
//
// hnswlib 0.6.2 (Debian 12) has markDelete/unmarkDelete, resizeIndex and saveIndex/loadIndex, but
// no search filter and no reuse of deleted slots: filtered searches oversample and filter after,
// and deleted elements stay in the graph until Compact() rebuilds without them.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "search/embed/embedder.hpp"

namespace studio::search {

/// Which vector space an index holds. Vectors from a different embedder, model or dimension are
/// meaningless in it, so a saved index whose identity differs is rebuilt rather than loaded.
struct IndexIdentity {
  std::string embedder;  // Embedder::name(), e.g. "local"
  std::string model;     // Embedder::model()
  int dimension = 0;

  bool operator==(const IndexIdentity&) const = default;
};

struct IndexParams {
  /// HNSW graph degree and construction beam; fixed when the index is built.
  std::size_t m = 16;
  std::size_t ef_construction = 200;
  /// Search beam. At 100k clustered 100-d vectors (bench/search/search_bench.cpp) 32 already
  /// reaches recall@10 0.998; 128 costs ~0.2 ms per search and keeps recall >= 0.93 on data with
  /// much less contrast between neighbours, where 64 drops to 0.89.
  std::size_t ef_search = 128;
  /// Remove() compacts when more than this fraction of the stored elements is deleted.
  double compact_ratio = 0.25;
  /// Filtered searches ask hnswlib for max(k, ef_search) * filter_oversample candidates (with
  /// a beam as wide), doubling until k of them pass the filter.
  std::size_t filter_oversample = 4;
  /// Capacity of a new index; it doubles whenever it is full.
  std::size_t initial_capacity = 1024;
};

struct Hit {
  std::int64_t id = 0;
  /// Cosine similarity (inner product of normalised vectors), higher is closer.
  float score = 0;

  bool operator==(const Hit&) const = default;
};

/// A stored vector, as fed to a rebuild.
struct IdVector {
  std::int64_t id = 0;
  Vector vector;
};

/// Pulls the vectors of a rebuild one at a time (e.g. pages of rows from the database);
/// std::nullopt ends the stream.
using VectorSource = std::function<std::optional<IdVector>()>;

/// Search filter: true keeps the id (e.g. only chunks of documents the caller may see). It runs
/// under the index's read lock, so it must not call back into the same index.
using IdFilter = std::function<bool(std::int64_t id)>;

enum class LoadStatus {
  kLoaded,
  /// Nothing saved in the directory (new workspace, or lost): rebuild from the database.
  kMissing,
  /// A saved index exists but cannot be used (other embedder/model/dimension, corrupt,
  /// truncated, unknown format): rebuild from the database.
  kNeedsRebuild,
};

class VectorIndex;

struct LoadResult {
  LoadStatus status = LoadStatus::kMissing;
  /// Set when status is kLoaded.
  std::unique_ptr<VectorIndex> index;
  /// Why the index could not be loaded (for logs).
  std::string reason;
};

/// Thread-safe: any number of concurrent searches; writers (Add, Remove, Compact, Save) are
/// serialised among themselves. Searches wait only while a write changes the graph (one element
/// at a time in AddBatch), not during Save or while Compact builds its replacement.
class VectorIndex {
 public:
  VectorIndex(IndexIdentity identity, IndexParams params = {});
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  const IndexIdentity& identity() const;

  /// Inserts or replaces the vector of `id` (a removed id comes back). The vector is normalised
  /// here; a zero vector is stored as is and scores 0 against everything.
  /// Throws std::invalid_argument when the dimension is wrong.
  void Add(std::int64_t id, std::span<const float> vector);
  void AddBatch(std::span<const IdVector> items);
  /// Hides `id` from searches. Returns false when it was not present. May compact (see
  /// IndexParams::compact_ratio), which blocks other writers but not searches.
  bool Remove(std::int64_t id);
  /// Rebuilds the graph without deleted elements. Searches keep using the old graph meanwhile.
  void Compact();

  /// The k nearest live vectors, best first. With `allow`, only ids it accepts are returned:
  /// hnswlib 0.6.2 cannot filter during the search, so this asks for max(k, ef_search) *
  /// filter_oversample candidates and doubles until k pass or the whole index was searched:
  /// a filter that keeps few ids costs up to a full graph walk.
  std::vector<Hit> Search(std::span<const float> query, std::size_t k, const IdFilter& allow = {}) const;
  /// The same answer computed by brute force over every live vector (recall checks, tests).
  std::vector<Hit> ExactSearch(std::span<const float> query, std::size_t k, const IdFilter& allow = {}) const;
  /// The stored (normalised) vector of a live id, e.g. for MMR.
  std::optional<Vector> GetVector(std::int64_t id) const;

  /// Live (not removed) vectors.
  std::size_t Size() const;
  /// Removed vectors still in the graph (until Compact).
  std::size_t DeletedCount() const;
  void SetEfSearch(std::size_t ef);

  /// Raises the watermark recorded by the next Save to `sequence` (never lowers it).
  void AdvanceWatermark(std::int64_t sequence);
  std::int64_t Watermark() const;
  /// True when something changed since the last Save or Load.
  bool Dirty() const;

  /// Writes the index into `dir` (created if needed) atomically: the graph goes to a new file
  /// (temp, fsync, rename), then meta.json naming it and recording identity, counts, watermark
  /// and SHA-256 replaces the old one the same way; a crash at any point leaves the previous
  /// save or the new one. Throws std::runtime_error on I/O failure.
  void Save(const std::filesystem::path& dir);
  /// Loads what Save wrote. Never trusts the files: identity, sizes, header fields, every link
  /// and the checksum are checked before hnswlib reads anything, and any problem is reported as
  /// kNeedsRebuild rather than thrown.
  static LoadResult Load(const std::filesystem::path& dir, const IndexIdentity& expected, IndexParams params = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace studio::search
