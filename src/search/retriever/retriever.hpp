#pragma once
// The search service behind POST /api/v1/search and the agent's retrieval: vector (HNSW),
// keyword (in-memory BM25 on SQLite, tsvector on PostgreSQL) or hybrid (reciprocal-rank fusion of both) search over one
// workspace's chunks, with filters, a relevance threshold, de-duplication and snippets.
//
// Where the truth lives: the database. The per-workspace vector index is a cache of the chunks'
// stored embeddings that learns about new chunks by catching up (below); every hit, whichever
// list found it, is hydrated from the database before it is returned, in the caller's workspace.
// So a chunk deleted by another process (or a crashed one that never told us) simply drops out
// at hydration, and its vector is then removed from the index; a chunk of another workspace can
// never be returned even if an index were wrong.
//
// Catch-up: chunk ids grow forever and the index records the highest id it has seen (its
// watermark). Before each vector search the retriever adds every embedded chunk of the
// workspace with a higher id (chunks::EmbeddedAfter) and advances the watermark; when nothing
// is new this is one indexed query. Chunks embedded by another embedder/model/dimension are
// skipped (they will be re-embedded, which writes new rows). Two limits follow from the design:
//  - a chunk whose embedding is written in place later (UPDATE of an existing row below the
//    watermark) is not seen until Rebuild(); ingestion writes chunks with their embeddings
//    (chunks::Replace), so this does not happen today;
//  - on PostgreSQL two ingestion transactions of one workspace could commit their ids out of
//    order; a search between the two commits would move the watermark past the later-committing
//    lower ids. Serialising chunk writes per workspace (lock the workspace row in the writing
//    transaction) rules it out.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "search/embed/embedder.hpp"
#include "search/index/index_registry.hpp"
#include "search/retriever/snippet.hpp"

namespace studio::store {
class Db;
}

namespace studio::search {

enum class SearchMode { kHybrid, kVector, kKeyword };

/// "hybrid", "vector", "keyword" (exactly); std::nullopt otherwise.
std::optional<SearchMode> ParseSearchMode(std::string_view name);
std::string_view SearchModeName(SearchMode mode);

enum class TagMatch {
  kAny,  // the document has at least one of the tags (the default)
  kAll,  // the document has every tag
};

/// Restricts a search to chunks whose document passes every condition that is set. Tags are the
/// strings of the document's metadata.tags array, compared exactly. Times are the document's
/// created_at (Unix ms); both bounds are exclusive.
struct SearchFilter {
  std::vector<std::string> document_ids;
  std::vector<std::string> tags;
  TagMatch tag_match = TagMatch::kAny;
  std::optional<std::int64_t> created_after_ms;
  std::optional<std::int64_t> created_before_ms;

  bool empty() const { return document_ids.empty() && tags.empty() && !created_after_ms && !created_before_ms; }
};

struct SearchRequest {
  std::string query;
  int top_k = 10;
  SearchMode mode = SearchMode::kHybrid;
  SearchFilter filter;
  /// Minimum relevance; RetrieverOptions::default_threshold when unset. Vector and hybrid modes
  /// compare it with the cosine similarity, keyword mode with the normalised keyword score (see
  /// SearchHit::score).
  std::optional<double> threshold;
  /// Maximal marginal relevance trade-off in [0, 1] (1 = pure relevance);
  /// RetrieverOptions::mmr_lambda when unset; no MMR when both are unset.
  std::optional<double> mmr_lambda;
  /// Fill SearchHit::text (the agent sends whole chunks to the model; the search API only snippets).
  bool with_text = false;
};

struct SearchHit {
  std::int64_t chunk_id = 0;
  std::string document_id;
  std::string title;
  std::optional<std::string> url;
  std::string heading_path;
  int page_start = 0;
  int page_end = 0;
  int ordinal = 0;
  Snippet snippet;
  /// The whole chunk, when SearchRequest::with_text.
  std::string text;

  /// The mode's score, higher is better:
  ///  - vector: cosine similarity of query and chunk, in [-1, 1];
  ///  - keyword: s / (s + 1) in [0, 1) of the backend's score s (SQLite: BM25, PostgreSQL:
  ///    ts_rank_cd), so it does not depend on the other hits but differs between backends;
  ///  - hybrid: the reciprocal-rank-fusion score, sum of 1 / (60 + rank) over both lists
  ///    (at most 2/61 ≈ 0.033); see cosine for an absolute measure.
  double score = 0;
  /// Cosine similarity to the query whenever the chunk's vector is in the index (every mode but
  /// keyword; in hybrid mode also for hits only the keyword list found).
  std::optional<double> cosine;
  /// The normalised keyword score, when the keyword list found the chunk.
  std::optional<double> keyword_score;
  /// 1-based ranks in the candidate lists that found the chunk (for explanations).
  std::optional<std::size_t> vector_rank;
  std::optional<std::size_t> keyword_rank;
};

/// Time spent per stage (for logs and metrics). catch_up includes loading or rebuilding the
/// index on a workspace's first search.
struct SearchTimings {
  std::chrono::microseconds catch_up{0};
  std::chrono::microseconds embed{0};
  std::chrono::microseconds vector{0};
  std::chrono::microseconds keyword{0};
  std::chrono::microseconds hydrate{0};
  std::chrono::microseconds rank{0};
  std::chrono::microseconds total{0};
};

struct SearchResult {
  /// Best first, at most top_k.
  std::vector<SearchHit> hits;
  SearchTimings timings;
};

struct RetrieverOptions {
  /// Threshold of requests that set none. Unset: no threshold.
  std::optional<double> default_threshold;
  /// MMR lambda of requests that set none. Unset: no MMR (relevance order).
  std::optional<double> mmr_lambda;
  /// Each list fetches max(top_k * candidate_factor, min_candidates) candidates, so fusion,
  /// thresholds and de-duplication have enough to choose from.
  int candidate_factor = 4;
  int min_candidates = 50;
  /// With a filter, a list that yields too few matching candidates is fetched again with 4x as
  /// many, up to this many (bounds the cost of a very selective tag or date filter).
  int max_filtered_candidates = 4000;
  /// A document-id filter selecting at most this many chunks is scored exactly against their
  /// stored vectors instead of through the HNSW graph.
  std::size_t exact_filter_limit = 5000;
  double rrf_k = 60;
  /// Hybrid mode: the weights of the vector and the keyword list in the fusion (weighted RRF).
  double vector_weight = 1;
  double keyword_weight = 1;
  /// Hits more similar than this to a better one are dropped, as are hits of identical text.
  double duplicate_cosine = 0.95;
  std::size_t snippet_bytes = 300;
  int max_top_k = 100;
  std::size_t max_query_bytes = 4096;
  /// Rows per query when catching up or rebuilding.
  int page_size = 1000;
};

/// The words of `query` the keyword index is asked for: QueryTerms (no stop words, no one-letter
/// ASCII words, no repeats), or the query itself when nothing else would remain.
std::string KeywordQuery(std::string_view query);

/// The hybrid vector weight for an embedder. Averaged word vectors (local) rank far below keywords
/// on questions that share the document's words (docs/RETRIEVAL_QUALITY.md: recall@10 0.45
/// against 0.80); at a quarter of the keyword list's weight hybrid matches keyword recall there
/// and beats it on paraphrased questions. Other embedders: plain RRF (1), not yet measured.
double DefaultHybridVectorWeight(const Embedder& embedder);

/// Thread-safe: concurrent searches in one workspace and across workspaces. Catch-up and
/// rebuilds are serialised per workspace.
class Retriever {
 public:
  /// The registry must hold indexes of the embedder's identity (IdentityOf(embedder)); all four
  /// must outlive the retriever.
  Retriever(store::Db& db, Embedder& embedder, IndexRegistry& registry, RetrieverOptions options = {});
  ~Retriever();
  Retriever(const Retriever&) = delete;
  Retriever& operator=(const Retriever&) = delete;

  /// Throws ValidationFailed for an empty or too long query, top_k outside [1, max_top_k], a
  /// threshold outside [-1, 1] or a lambda outside [0, 1]; std::invalid_argument for an invalid
  /// workspace id; whatever the database or the embedder throws (DbUnavailable,
  /// ServiceUnavailable).
  SearchResult Search(std::string_view workspace_id, const SearchRequest& request);

  /// Removes the vectors of deleted chunks (document deleted or re-ingested). Optional for
  /// correctness (hydration drops them anyway, and then removes their vectors itself) but keeps
  /// the index from returning them as candidates. Does nothing when the workspace has no usable
  /// index (the next search rebuilds it from the database as it is).
  void OnChunksDeleted(std::string_view workspace_id, const std::vector<std::int64_t>& chunk_ids);

  /// Loads (or rebuilds) the workspace's index and adds the chunks written since it was last
  /// brought up to date. Search does this itself; workers may call it after writing chunks so
  /// the next search finds nothing to do.
  void CatchUp(std::string_view workspace_id);

  /// Rebuilds the workspace's index from the database (e.g. after embeddings were changed in
  /// place), replacing the current one.
  void Rebuild(std::string_view workspace_id);

 private:
  struct Workspace;
  std::shared_ptr<Workspace> WorkspaceOf(std::string_view workspace_id);
  std::shared_ptr<VectorIndex> IndexOf(std::string_view workspace_id, Workspace& workspace);
  std::shared_ptr<VectorIndex> RebuildLocked(std::string_view workspace_id, std::string_view reason);

  store::Db& db_;
  Embedder& embedder_;
  IndexRegistry& registry_;
  RetrieverOptions options_;
  IndexIdentity identity_;
  std::string model_id_;

  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Workspace>, std::less<>> workspaces_;  // guarded by mutex_
};

}  // namespace studio::search
