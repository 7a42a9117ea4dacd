#include "search/retriever/retriever.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/error.hpp"
#include "core/json.hpp"
#include "obs/log.hpp"
#include "search/index/fusion.hpp"
#include "search/index/keyword_index.hpp"
#include "search/retriever/embedding_codec.hpp"
#include "store/db.hpp"
#include "store/documents_repo.hpp"

namespace studio::search {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;

microseconds Since(Clock::time_point start) { return std::chrono::duration_cast<microseconds>(Clock::now() - start); }

Vector Normalised(Vector v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (norm > 0) {
    const double inv = 1 / std::sqrt(norm);
    for (float& x : v) x = static_cast<float>(x * inv);
  }
  return v;
}

double Dot(std::span<const float> a, std::span<const float> b) {
  double dot = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) dot += static_cast<double>(a[i]) * b[i];
  return dot;
}

// The keyword score on a fixed scale: s / (s + 1) keeps the order and needs no other hit, so a
// threshold means the same in every query (unlike "relative to the best hit", where the best
// hit of an unrelated query would still score 1).
double NormalisedKeywordScore(double raw) {
  const double s = std::max(raw, 0.0);
  return s / (s + 1);
}

// Collapses whitespace so chunks that differ only in line breaks count as identical text.
std::string TextKey(std::string_view text) {
  std::string key;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = !key.empty();
      continue;
    }
    if (space) key += ' ';
    space = false;
    key += c;
  }
  return key;
}

// Evaluates a SearchFilter on hydrated rows, which carry the document's current metadata and
// creation time. Parsed tags are cached per document for the duration of one search.
class FilterCheck {
 public:
  explicit FilterCheck(const SearchFilter& filter)
      : filter_(filter), documents_(filter.document_ids.begin(), filter.document_ids.end()) {}

  bool active() const { return !filter_.empty(); }

  bool Passes(const store::ChunkHit& hit) {
    if (!documents_.empty() && !documents_.contains(hit.chunk.document_id)) return false;
    if (filter_.created_after_ms && !(hit.document_created_at_ms > *filter_.created_after_ms)) return false;
    if (filter_.created_before_ms && !(hit.document_created_at_ms < *filter_.created_before_ms)) return false;
    if (filter_.tags.empty()) return true;
    const std::vector<std::string>& tags = TagsOf(hit);
    auto has = [&](const std::string& tag) { return std::find(tags.begin(), tags.end(), tag) != tags.end(); };
    return filter_.tag_match == TagMatch::kAll ? std::all_of(filter_.tags.begin(), filter_.tags.end(), has)
                                               : std::any_of(filter_.tags.begin(), filter_.tags.end(), has);
  }

 private:
  const std::vector<std::string>& TagsOf(const store::ChunkHit& hit) {
    auto [it, inserted] = tags_.try_emplace(hit.chunk.document_id);
    if (!inserted) return it->second;
    // Metadata is the client's JSON object; anything that is not an array of strings at
    // "tags" means no tags rather than an error.
    const Json metadata = Json::parse(hit.metadata_json, nullptr, /*allow_exceptions=*/false);
    if (metadata.is_object() && metadata.contains("tags") && metadata["tags"].is_array()) {
      for (const Json& tag : metadata["tags"]) {
        if (tag.is_string()) it->second.push_back(tag.get<std::string>());
      }
    }
    return it->second;
  }

  const SearchFilter& filter_;
  std::unordered_set<std::string> documents_;
  std::unordered_map<std::string, std::vector<std::string>> tags_;
};

void Validate(const SearchRequest& request, const RetrieverOptions& options) {
  std::vector<FieldError> errors;
  if (request.query.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
    errors.push_back({"query", "must not be empty"});
  } else if (request.query.size() > options.max_query_bytes) {
    errors.push_back({"query", "must be at most " + std::to_string(options.max_query_bytes) + " bytes"});
  }
  if (request.top_k < 1 || request.top_k > options.max_top_k) {
    errors.push_back({"topK", "must be between 1 and " + std::to_string(options.max_top_k)});
  }
  if (request.threshold && !(*request.threshold >= -1 && *request.threshold <= 1)) {
    errors.push_back({"threshold", "must be between -1 and 1"});
  }
  if (request.mmr_lambda && !(*request.mmr_lambda >= 0 && *request.mmr_lambda <= 1)) {
    errors.push_back({"mmrLambda", "must be between 0 and 1"});
  }
  if (request.filter.created_after_ms && request.filter.created_before_ms &&
      *request.filter.created_after_ms >= *request.filter.created_before_ms) {
    errors.push_back({"filter.createdBefore", "must be later than filter.createdAfter"});
  }
  if (!errors.empty()) throw ValidationFailed("The search request is invalid.", std::move(errors));
}

}  // namespace

std::string KeywordQuery(std::string_view query) {
  std::string out;
  for (const std::string& term : QueryTerms(query)) {
    if (!out.empty()) out += ' ';
    out += term;
  }
  return out.empty() ? std::string(query) : out;
}

double DefaultHybridVectorWeight(const Embedder& embedder) { return embedder.name() == "local" ? 0.25 : 1.0; }

std::optional<SearchMode> ParseSearchMode(std::string_view name) {
  if (name == "hybrid") return SearchMode::kHybrid;
  if (name == "vector") return SearchMode::kVector;
  if (name == "keyword") return SearchMode::kKeyword;
  return std::nullopt;
}

std::string_view SearchModeName(SearchMode mode) {
  switch (mode) {
    case SearchMode::kHybrid: return "hybrid";
    case SearchMode::kVector: return "vector";
    case SearchMode::kKeyword: return "keyword";
  }
  return "hybrid";
}

struct Retriever::Workspace {
  // Held while loading or rebuilding the index; taken only outside database transactions,
  // because a rebuild reads the database.
  std::mutex rebuild;
  // Held while catching up; taken only inside a database transaction, so its holder already has
  // a connection and never waits for one (a thread holding a connection may wait for it).
  std::mutex catch_up;
  // SQLite deployments only: the workspace's keyword index, built by the first keyword search.
  KeywordIndex keyword;
};

namespace {

// What one search fetched inside its transaction.
struct Gathered {
  std::vector<Hit> vector_list;   // cosine, best first, passing the filter
  std::vector<Hit> keyword_list;  // normalised keyword score, best first, passing the filter
  std::unordered_map<std::int64_t, store::ChunkHit> rows;
  // Ids the index returned that no longer exist in the database.
  std::unordered_set<std::int64_t> vanished;
};

// A stored embedding in the current vector space, or nothing (other model, damaged row).
std::optional<IdVector> ToIdVector(const store::ChunkRecord& row, const std::string& model_id, int dimension) {
  if (!row.embedding_b64 || row.embedding_model != model_id) return std::nullopt;
  std::optional<Vector> vector = DecodeEmbedding(*row.embedding_b64, dimension);
  if (!vector) {
    obs::LogWarn("chunk embedding cannot be decoded; left out of the vector index",
                 {{"workspace_id", row.workspace_id}, {"chunk_id", row.id}});
    return std::nullopt;
  }
  return IdVector{row.id, std::move(*vector)};
}

// Adds the workspace's chunks above the index's watermark. Requires Workspace::catch_up.
void CatchUpInTx(store::Tx& tx, std::string_view workspace_id, VectorIndex& index, const std::string& model_id,
                 int dimension, int page_size) {
  for (;;) {
    const std::vector<store::ChunkRecord> rows =
        store::chunks::EmbeddedAfter(tx, workspace_id, index.Watermark(), page_size);
    if (rows.empty()) return;
    std::vector<IdVector> batch;
    batch.reserve(rows.size());
    for (const auto& row : rows) {
      if (auto item = ToIdVector(row, model_id, dimension)) batch.push_back(std::move(*item));
    }
    index.AddBatch(batch);
    // Skipped rows (other model) are passed too: they never belong in this index.
    index.AdvanceWatermark(rows.back().id);
    if (rows.size() < static_cast<std::size_t>(page_size)) return;
  }
}

// Adds the workspace's chunks above the keyword index's watermark. Requires Workspace::catch_up.
void CatchUpKeywordInTx(store::Tx& tx, std::string_view workspace_id, KeywordIndex& index, int page_size) {
  const auto start = Clock::now();
  const bool building = index.Watermark() == 0;
  std::size_t added = 0;
  for (;;) {
    const std::vector<store::chunks::ChunkText> rows =
        store::chunks::TextsAfter(tx, workspace_id, index.Watermark(), page_size);
    for (const auto& row : rows) index.Add(row.id, row.text);
    added += rows.size();
    if (!rows.empty()) index.AdvanceWatermark(rows.back().id);
    if (rows.size() < static_cast<std::size_t>(page_size)) break;
  }
  // The first search of a workspace in this process builds its index: worth a line for operators.
  if (building && added > 0) {
    obs::LogInfo("keyword index built",
                 {{"workspace_id", workspace_id}, {"chunks", added}, {"ms", Since(start).count() / 1000}});
  }
}

// SQLite deployments rank keywords in memory (KeywordIndex), PostgreSQL in the database.
bool KeywordsInMemory(const store::Tx& tx) { return tx.backend() == store::Backend::kSqlite; }

}  // namespace

Retriever::Retriever(store::Db& db, Embedder& embedder, IndexRegistry& registry, RetrieverOptions options)
    : db_(db),
      embedder_(embedder),
      registry_(registry),
      options_(options),
      identity_(IdentityOf(embedder)),
      model_id_(EmbeddingModelId(embedder)) {
  if (options_.candidate_factor < 1 || options_.min_candidates < 1 || options_.max_filtered_candidates < 1 ||
      options_.max_top_k < 1 || options_.page_size < 1) {
    throw std::invalid_argument("RetrieverOptions: counts must be >= 1");
  }
  if (options_.mmr_lambda && !(*options_.mmr_lambda >= 0 && *options_.mmr_lambda <= 1)) {
    throw std::invalid_argument("RetrieverOptions: mmr_lambda must be in [0, 1]");
  }
}

Retriever::~Retriever() = default;

std::shared_ptr<Retriever::Workspace> Retriever::WorkspaceOf(std::string_view workspace_id) {
  if (!IndexRegistry::IsValidWorkspaceId(workspace_id)) throw std::invalid_argument("Retriever: invalid workspace id");
  std::lock_guard lock(mutex_);
  auto it = workspaces_.find(workspace_id);
  if (it == workspaces_.end()) it = workspaces_.emplace(std::string(workspace_id), std::make_shared<Workspace>()).first;
  return it->second;
}

std::shared_ptr<VectorIndex> Retriever::IndexOf(std::string_view workspace_id, Workspace& workspace) {
  IndexRegistry::Opened opened = registry_.Open(workspace_id);
  std::shared_ptr<VectorIndex> index = opened.index;
  if (opened.status != LoadStatus::kLoaded) {
    std::lock_guard lock(workspace.rebuild);
    opened = registry_.Open(workspace_id);  // another thread may have rebuilt it meanwhile
    index = opened.status == LoadStatus::kLoaded ? opened.index : RebuildLocked(workspace_id, opened.reason);
  }
  if (index->identity() != identity_) {
    throw std::logic_error("Retriever: the index registry holds vectors of another embedder than the retriever's");
  }
  return index;
}

std::shared_ptr<VectorIndex> Retriever::RebuildLocked(std::string_view workspace_id, std::string_view reason) {
  const auto start = Clock::now();
  // The rebuild covers the chunks up to the highest id now; later ones arrive by catch-up.
  const std::int64_t watermark = db_.ReadValue([&](store::Tx& tx) { return store::chunks::MaxId(tx, workspace_id); });
  std::vector<store::ChunkRecord> page;
  std::size_t next = 0, added = 0, skipped = 0;
  std::int64_t after = 0;
  bool exhausted = false;
  const VectorSource source = [&]() -> std::optional<IdVector> {
    for (;;) {
      while (next < page.size()) {
        const store::ChunkRecord& row = page[next++];
        if (row.id > watermark) {
          exhausted = true;
          page.clear();
          break;
        }
        if (auto item = ToIdVector(row, model_id_, identity_.dimension)) {
          ++added;
          return item;
        }
        ++skipped;
      }
      if (exhausted) return std::nullopt;
      page = db_.ReadValue(
          [&](store::Tx& tx) { return store::chunks::EmbeddedAfter(tx, workspace_id, after, options_.page_size); });
      next = 0;
      if (page.size() < static_cast<std::size_t>(options_.page_size)) exhausted = true;
      if (!page.empty()) after = page.back().id;
    }
  };
  std::shared_ptr<VectorIndex> index;
  try {
    index = registry_.Rebuild(workspace_id, source, watermark);
  } catch (const std::exception& e) {
    // A failed save leaves the rebuilt index installed (SaveAll retries); a failed read does not.
    IndexRegistry::Opened opened = registry_.Open(workspace_id);
    if (opened.status != LoadStatus::kLoaded) throw;
    obs::LogWarn("vector index rebuilt but not saved", {{"workspace_id", workspace_id}, {"error", e.what()}});
    index = opened.index;
  }
  obs::LogInfo("vector index rebuilt", {{"workspace_id", workspace_id},
                                        {"reason", reason},
                                        {"vectors", added},
                                        {"skipped_other_model", skipped},
                                        {"watermark", watermark},
                                        {"ms", Since(start).count() / 1000}});
  return index;
}

void Retriever::CatchUp(std::string_view workspace_id) {
  std::shared_ptr<Workspace> workspace = WorkspaceOf(workspace_id);
  std::shared_ptr<VectorIndex> index = IndexOf(workspace_id, *workspace);
  db_.Read([&](store::Tx& tx) {
    std::lock_guard lock(workspace->catch_up);
    CatchUpInTx(tx, workspace_id, *index, model_id_, identity_.dimension, options_.page_size);
    // The keyword index is kept up only once a search in this process has built it (a worker
    // process that never searches does not hold every text in memory for nothing).
    if (KeywordsInMemory(tx) && workspace->keyword.Watermark() > 0) {
      CatchUpKeywordInTx(tx, workspace_id, workspace->keyword, options_.page_size);
    }
  });
}

void Retriever::Rebuild(std::string_view workspace_id) {
  std::shared_ptr<Workspace> workspace = WorkspaceOf(workspace_id);
  std::lock_guard lock(workspace->rebuild);
  RebuildLocked(workspace_id, "requested");
}

void Retriever::OnChunksDeleted(std::string_view workspace_id, const std::vector<std::int64_t>& chunk_ids) {
  if (chunk_ids.empty()) return;
  std::shared_ptr<Workspace> workspace = WorkspaceOf(workspace_id);  // validates the id
  for (std::int64_t id : chunk_ids) workspace->keyword.Remove(id);
  IndexRegistry::Opened opened = registry_.Open(workspace_id);
  if (opened.status != LoadStatus::kLoaded) return;  // the rebuild will read the database as it is
  for (std::int64_t id : chunk_ids) opened.index->Remove(id);
}

SearchResult Retriever::Search(std::string_view workspace_id, const SearchRequest& request) {
  const auto search_start = Clock::now();
  Validate(request, options_);
  std::shared_ptr<Workspace> workspace = WorkspaceOf(workspace_id);

  SearchResult result;
  SearchTimings& timings = result.timings;
  const std::optional<double> threshold = request.threshold ? request.threshold : options_.default_threshold;
  const std::optional<double> lambda = request.mmr_lambda ? request.mmr_lambda : options_.mmr_lambda;
  const auto top_k = static_cast<std::size_t>(request.top_k);
  const std::size_t pool = std::max(top_k * static_cast<std::size_t>(options_.candidate_factor),
                                    static_cast<std::size_t>(options_.min_candidates));
  const std::size_t max_pool = std::max(pool, static_cast<std::size_t>(options_.max_filtered_candidates));
  const bool use_vector = request.mode != SearchMode::kKeyword;
  const bool use_keyword = request.mode != SearchMode::kVector;

  Vector query_vector;
  std::shared_ptr<VectorIndex> index;
  if (use_vector) {
    auto start = Clock::now();
    const std::vector<std::string> texts{request.query};
    query_vector = Normalised(embedder_.Embed(texts).at(0));
    timings.embed = Since(start);
    start = Clock::now();
    index = IndexOf(workspace_id, *workspace);
    timings.catch_up = Since(start);
  }

  // Everything the database says about this search comes from one transaction (one snapshot).
  Gathered gathered;
  db_.Read([&](store::Tx& tx) {
    gathered = {};
    FilterCheck filter(request.filter);
    // The index may also hold chunks that a concurrent search added after this transaction's
    // snapshot was taken; only ids up to the watermark this search caught up to are known to be
    // visible here, so only those can be judged deleted when hydration does not find them.
    std::int64_t vector_visible_up_to = 0;
    std::int64_t keyword_visible_up_to = 0;
    const bool keywords_in_memory = use_keyword && KeywordsInMemory(tx);
    if (index || keywords_in_memory) {
      const auto start = Clock::now();
      std::lock_guard lock(workspace->catch_up);
      if (index) {
        CatchUpInTx(tx, workspace_id, *index, model_id_, identity_.dimension, options_.page_size);
        vector_visible_up_to = index->Watermark();
      }
      if (keywords_in_memory) {
        CatchUpKeywordInTx(tx, workspace_id, workspace->keyword, options_.page_size);
        keyword_visible_up_to = workspace->keyword.Watermark();
      }
      timings.catch_up += Since(start);
    }

    // Hydrates the ids not seen yet and keeps, in order, those that still exist and pass the filter.
    // `visible_up_to`: the watermark of the index the hits come from.
    auto hydrate_and_filter = [&](const std::vector<Hit>& hits, std::int64_t visible_up_to) {
      std::vector<std::int64_t> missing;
      for (const Hit& hit : hits) {
        if (!gathered.rows.contains(hit.id) && !gathered.vanished.contains(hit.id)) missing.push_back(hit.id);
      }
      const auto start = Clock::now();
      for (store::ChunkHit& row : store::chunks::Hydrate(tx, workspace_id, missing)) {
        const std::int64_t id = row.chunk.id;
        gathered.rows.emplace(id, std::move(row));
      }
      timings.hydrate += Since(start);
      std::vector<Hit> kept;
      for (const Hit& hit : hits) {
        auto it = gathered.rows.find(hit.id);
        if (it == gathered.rows.end()) {
          // Hydration filters by workspace, and the index holds only this workspace's chunks:
          // a visible id that does not come back was deleted.
          if (hit.id <= visible_up_to) gathered.vanished.insert(hit.id);
          continue;
        }
        if (filter.Passes(it->second)) kept.push_back(hit);
      }
      return kept;
    };

    if (use_vector) {
      auto start = Clock::now();
      // A document-id filter names a bounded set of chunks: list them, then score them exactly
      // when few, or let the HNSW search skip the others when many. Other filters are checked on
      // hydrated rows, fetching more candidates while too few pass.
      std::optional<std::unordered_set<std::int64_t>> allowed;
      std::vector<Hit> exact;
      if (!request.filter.document_ids.empty()) {
        allowed.emplace();
        for (const std::string& document_id :
             std::unordered_set<std::string>(request.filter.document_ids.begin(), request.filter.document_ids.end())) {
          for (int offset = 0;; offset += options_.page_size) {
            const auto rows = store::chunks::ForDocument(tx, workspace_id, document_id, offset, options_.page_size);
            for (const auto& row : rows) allowed->insert(row.id);
            if (rows.size() < static_cast<std::size_t>(options_.page_size)) break;
          }
        }
        if (allowed->size() <= options_.exact_filter_limit) {
          for (std::int64_t id : *allowed) {
            if (std::optional<Vector> v = index->GetVector(id)) {
              exact.push_back({id, static_cast<float>(Dot(query_vector, *v))});
            }
          }
          std::sort(exact.begin(), exact.end(),
                    [](const Hit& a, const Hit& b) { return a.score != b.score ? a.score > b.score : a.id < b.id; });
        }
      }
      const bool use_exact = allowed && allowed->size() <= options_.exact_filter_limit;
      IdFilter allow;
      if (allowed && !use_exact) allow = [&](std::int64_t id) { return allowed->contains(id); };
      timings.vector += Since(start);

      for (std::size_t want = pool;; want = std::min(want * 4, max_pool)) {
        start = Clock::now();
        std::vector<Hit> hits;
        if (use_exact) {
          hits.assign(exact.begin(), exact.begin() + static_cast<std::ptrdiff_t>(std::min(want, exact.size())));
        } else {
          hits = index->Search(query_vector, want, allow);
        }
        timings.vector += Since(start);
        gathered.vector_list = hydrate_and_filter(hits, vector_visible_up_to);
        if (gathered.vector_list.size() >= pool || hits.size() < want || want >= max_pool) break;
      }
    }

    if (use_keyword) {
      // Stop words ("how do I …") leave the keyword query when other words remain: they match
      // nearly every chunk, so they cost the most to rank, and a chunk that happens to contain
      // "of" and "to" must not outrank one with the words that matter.
      const std::string keyword_query = KeywordQuery(request.query);
      // A keyword query costs about the same whatever its limit (the database ranks every
      // matching row before it cuts), so a filtered search that needs more goes straight to the
      // maximum rather than growing step by step like the vector search.
      for (std::size_t limit = pool;; limit = max_pool) {
        const auto start = Clock::now();
        std::size_t fetched = 0;
        if (keywords_in_memory) {
          std::vector<Hit> hits = workspace->keyword.Search(keyword_query, limit);
          fetched = hits.size();
          for (Hit& hit : hits) hit.score = static_cast<float>(NormalisedKeywordScore(hit.score));
          timings.keyword += Since(start);
          gathered.keyword_list = hydrate_and_filter(hits, keyword_visible_up_to);
        } else {
          std::vector<store::ChunkHit> rows =
              store::chunks::Keyword(tx, workspace_id, keyword_query, static_cast<int>(limit));
          timings.keyword += Since(start);
          fetched = rows.size();
          gathered.keyword_list.clear();
          for (store::ChunkHit& row : rows) {
            const Hit hit{row.chunk.id, static_cast<float>(NormalisedKeywordScore(row.score))};
            if (filter.Passes(row)) gathered.keyword_list.push_back(hit);
            gathered.rows.try_emplace(hit.id, std::move(row));
          }
        }
        if (!filter.active() || gathered.keyword_list.size() >= pool || fetched < limit || limit >= max_pool) break;
      }
    }
  });
  // Deleted by another process (or without OnChunksDeleted): ids are never reused, so the
  // vectors can go.
  for (std::int64_t id : gathered.vanished) {
    if (index) index->Remove(id);
    workspace->keyword.Remove(id);
  }

  // Rank: the mode's score, the threshold, then de-duplication and optional MMR.
  const auto rank_start = Clock::now();
  std::vector<SearchHit> ranked;
  auto add = [&](std::int64_t id, double score) -> SearchHit& {
    SearchHit& hit = ranked.emplace_back();
    hit.chunk_id = id;
    hit.score = score;
    return hit;
  };
  if (request.mode == SearchMode::kVector) {
    for (std::size_t i = 0; i < gathered.vector_list.size(); ++i) {
      const Hit& h = gathered.vector_list[i];
      SearchHit& hit = add(h.id, h.score);
      hit.cosine = h.score;
      hit.vector_rank = i + 1;
    }
  } else if (request.mode == SearchMode::kKeyword) {
    for (std::size_t i = 0; i < gathered.keyword_list.size(); ++i) {
      const Hit& h = gathered.keyword_list[i];
      SearchHit& hit = add(h.id, h.score);
      hit.keyword_score = h.score;
      hit.keyword_rank = i + 1;
    }
  } else {
    const std::vector<Hit> lists[] = {gathered.vector_list, gathered.keyword_list};
    const double weights[] = {options_.vector_weight, options_.keyword_weight};
    for (const FusedHit& fused : ReciprocalRankFusion(lists, options_.rrf_k, weights)) {
      SearchHit& hit = add(fused.id, fused.score);
      if (fused.lists[0]) {
        hit.vector_rank = fused.lists[0]->rank;
        hit.cosine = fused.lists[0]->score;
      } else if (std::optional<Vector> v = index->GetVector(fused.id)) {
        hit.cosine = Dot(query_vector, *v);
      }
      if (fused.lists[1]) {
        hit.keyword_rank = fused.lists[1]->rank;
        hit.keyword_score = fused.lists[1]->score;
      }
    }
  }

  // The threshold measures relevance on an absolute scale: the cosine in vector and hybrid
  // modes, so the agent can say "I don't know" when nothing is close. A hybrid hit found only by
  // keywords whose vector is not in the index (not embedded yet, or by another model) cannot
  // show that closeness and is left out while a threshold is set.
  if (threshold) {
    std::erase_if(ranked, [&](const SearchHit& hit) {
      if (request.mode == SearchMode::kKeyword) return hit.score < *threshold;
      return !hit.cosine || *hit.cosine < *threshold;
    });
  }

  // De-duplication, best first: a hit whose text equals a kept one's, or whose vector is almost
  // the same (cosine > duplicate_cosine), adds nothing. Vectors come from the index (none in
  // keyword mode, which compares text only).
  std::vector<SearchHit> kept;
  std::vector<Vector> kept_vectors;
  std::unordered_set<std::string> kept_texts;
  const std::size_t want = lambda ? pool : top_k;
  for (SearchHit& hit : ranked) {
    if (kept.size() == want) break;
    const store::ChunkHit& row = gathered.rows.at(hit.chunk_id);
    std::string text_key = TextKey(row.chunk.text);
    if (kept_texts.contains(text_key)) continue;
    Vector vector;
    if (index) vector = index->GetVector(hit.chunk_id).value_or(Vector{});
    const bool near_duplicate =
        !vector.empty() && std::any_of(kept_vectors.begin(), kept_vectors.end(), [&](const Vector& v) {
          return CosineSimilarity(v, vector) > options_.duplicate_cosine;
        });
    if (near_duplicate) continue;
    kept_texts.insert(std::move(text_key));
    kept_vectors.push_back(std::move(vector));
    kept.push_back(std::move(hit));
  }
  if (lambda) {
    std::vector<Candidate> candidates;
    for (std::size_t i = 0; i < kept.size(); ++i)
      candidates.push_back({kept[i].chunk_id, kept[i].score, kept_vectors[i]});
    std::vector<SearchHit> picked;
    for (std::size_t i : MaximalMarginalRelevance(candidates, top_k, *lambda)) picked.push_back(std::move(kept[i]));
    kept = std::move(picked);
  }

  for (SearchHit& hit : kept) {
    const store::ChunkHit& row = gathered.rows.at(hit.chunk_id);
    hit.document_id = row.chunk.document_id;
    hit.title = row.title;
    hit.url = row.url;
    hit.heading_path = row.chunk.heading_path;
    hit.page_start = row.chunk.page_start;
    hit.page_end = row.chunk.page_end;
    hit.ordinal = row.chunk.ordinal;
    hit.snippet = MakeSnippet(row.chunk.text, request.query, options_.snippet_bytes);
    if (request.with_text) hit.text = row.chunk.text;
  }
  result.hits = std::move(kept);
  timings.rank = Since(rank_start);
  timings.total = Since(search_start);
  return result;
}

}  // namespace studio::search
