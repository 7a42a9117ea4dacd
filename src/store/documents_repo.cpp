#include "store/documents_repo.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "core/json.hpp"

namespace studio::store {
namespace {

constexpr Query kInsertDoc{
    "documents.insert",
    "INSERT INTO documents (id, workspace_id, title, url, external_id, filename, format, size_bytes, content_hash, "
    "version, status, metadata, job_id, created_at_ms, updated_at_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"};
constexpr Query kFindDoc{"documents.find",
                         "SELECT id, workspace_id, title, url, external_id, filename, format, size_bytes, "
                         "content_hash, version, status, error, error_code, metadata, extracted, chunking, "
                         "chunk_count, token_count, job_id, created_at_ms, updated_at_ms, indexed_at_ms "
                         "FROM documents WHERE workspace_id = $1 AND id = $2"};
constexpr Query kFindByHash{"documents.find_by_hash",
                            "SELECT id, workspace_id, title, url, external_id, filename, format, size_bytes, "
                            "content_hash, version, status, error, error_code, metadata, extracted, chunking, "
                            "chunk_count, token_count, job_id, created_at_ms, updated_at_ms, indexed_at_ms "
                            "FROM documents WHERE workspace_id = $1 AND content_hash = $2"};
constexpr Query kFindByExternal{"documents.find_by_external",
                                "SELECT id, workspace_id, title, url, external_id, filename, format, size_bytes, "
                                "content_hash, version, status, error, error_code, metadata, extracted, chunking, "
                                "chunk_count, token_count, job_id, created_at_ms, updated_at_ms, indexed_at_ms "
                                "FROM documents WHERE workspace_id = $1 AND external_id = $2"};
// Keyset pagination on (created_at_ms, id); '' as status means any.
constexpr Query kList{"documents.list",
                      "SELECT id, workspace_id, title, url, external_id, filename, format, size_bytes, "
                      "content_hash, version, status, error, error_code, metadata, extracted, chunking, "
                      "chunk_count, token_count, job_id, created_at_ms, updated_at_ms, indexed_at_ms "
                      "FROM documents WHERE workspace_id = $1 AND ($2 = '' OR status = $2) "
                      "AND (created_at_ms > $3 OR (created_at_ms = $3 AND id > $4)) "
                      "ORDER BY created_at_ms, id LIMIT $5"};
constexpr Query kNewVersion{"documents.new_version",
                            "UPDATE documents SET version = version + 1, status = 'queued', error = NULL, "
                            "error_code = NULL, title = $3, url = $4, filename = $5, format = $6, size_bytes = $7, "
                            "content_hash = $8, metadata = $9, updated_at_ms = $10 "
                            "WHERE workspace_id = $1 AND id = $2 RETURNING version"};
constexpr Query kSetJob{"documents.set_job", "UPDATE documents SET job_id = $3 WHERE workspace_id = $1 AND id = $2"};
constexpr Query kMarkProcessing{"documents.mark_processing",
                                "UPDATE documents SET status = 'processing', updated_at_ms = $4 "
                                "WHERE workspace_id = $1 AND id = $2 AND version = $3"};
constexpr Query kMarkReady{
    "documents.mark_ready",
    "UPDATE documents SET status = 'ready', error = NULL, error_code = NULL, format = $4, extracted = $5, "
    "chunking = $6, chunk_count = $7, token_count = $8, updated_at_ms = $9, indexed_at_ms = $9 "
    "WHERE workspace_id = $1 AND id = $2 AND version = $3"};
constexpr Query kMarkFailed{"documents.mark_failed",
                            "UPDATE documents SET status = 'failed', error_code = $4, error = $5, updated_at_ms = $6 "
                            "WHERE workspace_id = $1 AND id = $2 AND version = $3"};
constexpr Query kChunkIdsOfDoc{"chunks.ids_of_document",
                               "SELECT id FROM chunks WHERE workspace_id = $1 AND document_id = $2 ORDER BY id"};
constexpr Query kDeleteDoc{"documents.delete", "DELETE FROM documents WHERE workspace_id = $1 AND id = $2"};
constexpr Query kCountDocs{"documents.count", "SELECT count(*) FROM documents WHERE workspace_id = $1"};

constexpr Query kPutSource{
    "documents.put_source",
    "INSERT INTO document_sources (document_id, workspace_id, version, content_type, content) "
    "VALUES ($2, $1, $3, $4, $5) ON CONFLICT (document_id) DO UPDATE SET version = excluded.version, "
    "content_type = excluded.content_type, content = excluded.content"};
constexpr Query kGetSource{"documents.get_source",
                           "SELECT version, content_type, content FROM document_sources "
                           "WHERE workspace_id = $1 AND document_id = $2"};

constexpr Query kDeleteChunksOfDoc{"chunks.delete_of_document",
                                   "DELETE FROM chunks WHERE workspace_id = $1 AND document_id = $2"};
constexpr Query kInsertChunk{
    "chunks.insert",
    "INSERT INTO chunks (workspace_id, document_id, version, ordinal, text, heading_path, page_start, page_end, "
    "char_begin, char_end, token_count, embedding, embedding_model, created_at_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"};
constexpr Query kChunksOfDoc{
    "chunks.of_document",
    "SELECT id, workspace_id, document_id, version, ordinal, text, heading_path, page_start, page_end, char_begin, "
    "char_end, token_count, NULL AS embedding, embedding_model, created_at_ms FROM chunks "
    "WHERE workspace_id = $1 AND document_id = $2 ORDER BY ordinal LIMIT $4 OFFSET $3"};
constexpr Query kEmbeddedAfter{
    "chunks.embedded_after",
    "SELECT id, workspace_id, document_id, version, ordinal, '' AS text, heading_path, page_start, page_end, "
    "char_begin, char_end, token_count, embedding, embedding_model, created_at_ms FROM chunks "
    "WHERE workspace_id = $1 AND id > $2 AND embedding IS NOT NULL ORDER BY id LIMIT $3"};
constexpr Query kTextsAfter{"chunks.texts_after",
                            "SELECT id, text FROM chunks WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"};
constexpr Query kMaxChunkId{"chunks.max_id", "SELECT COALESCE(MAX(id), 0) FROM chunks WHERE workspace_id = $1"};

// PostgreSQL only: serialises the chunk writers of one workspace until their transactions end,
// so the workspace's chunk ids become visible in id order (the retriever's catch-up watermark
// relies on it: search/retriever/retriever.hpp). BIGSERIAL hands out ids at INSERT, not at
// commit: without the lock one writer could take id 11, another id 12 and commit first, and a
// search in between would move the watermark past 11 for good. Held from before the first INSERT
// to the commit, it makes the next writer's ids all higher and their commit later.
// An advisory lock rather than a lock on the workspace row: FOR UPDATE would also block every
// foreign-key check on that row (any insert of a document, job, audit entry… of the workspace),
// FOR NO KEY UPDATE every change to the row. The two-key form is a keyspace of its own (the
// single-key lock of migrate.cpp cannot collide with it); the first key ("CHNK" in ASCII) marks
// chunk writers, the second is the workspace id's hash, so two workspaces share a lock only on a
// hash collision, which merely serialises them. SQLite needs nothing: Write holds the database's
// only write lock.
constexpr Query kLockChunkWriters{"chunks.lock_writers",
                                  "SELECT pg_advisory_xact_lock(1128812107, hashtext($1::text))"};
// Hit rows: the chunk's columns (as above, without its embedding), then the document's.
constexpr Query kHydrate{
    "chunks.hydrate",
    "SELECT c.id, c.workspace_id, c.document_id, c.version, c.ordinal, c.text, c.heading_path, c.page_start, "
    "c.page_end, c.char_begin, c.char_end, c.token_count, NULL AS embedding, c.embedding_model, c.created_at_ms, "
    "d.title, d.url, d.metadata, d.created_at_ms, 0.0 AS score "
    "FROM chunks c JOIN documents d ON d.id = c.document_id AND d.workspace_id = c.workspace_id "
    "WHERE c.workspace_id = $1 AND c.id IN (SELECT value FROM json_each($2))",
    "SELECT c.id, c.workspace_id, c.document_id, c.version, c.ordinal, c.text, c.heading_path, c.page_start, "
    "c.page_end, c.char_begin, c.char_end, c.token_count, NULL AS embedding, c.embedding_model, c.created_at_ms, "
    "d.title, d.url, d.metadata, d.created_at_ms, 0.0::float8 AS score "
    "FROM chunks c JOIN documents d ON d.id = c.document_id AND d.workspace_id = c.workspace_id "
    "WHERE c.workspace_id = $1 AND c.id IN (SELECT jsonb_array_elements_text($2::jsonb)::bigint)"};
// Keyword search (PostgreSQL) ranks chunk ids first and hydrates only the winners (kHydrate), so
// the text of a chunk is read only when it is returned. The GIN index finds the chunks matching
// $2 (a level of Keyword); they are ranked by the any-word query $3, so a chunk's score is the same
// whichever level found it, and cut in SQL.
constexpr Query kTsBest{"chunks.keyword_ts_best",
                        "SELECT id, ts_rank_cd(tsv, to_tsquery('english', $3::text))::float8 AS score FROM chunks "
                        "WHERE workspace_id = $1 AND tsv @@ to_tsquery('english', $2::text) "
                        "ORDER BY score DESC, id LIMIT $4"};

DocumentRecord DocFromRow(const Row& r) {
  DocumentRecord d;
  d.id = r.GetString(0);
  d.workspace_id = r.GetString(1);
  d.title = r.GetString(2);
  d.url = r.GetOptString(3);
  d.external_id = r.GetOptString(4);
  d.filename = r.GetOptString(5);
  d.format = r.GetOptString(6);
  d.size_bytes = r.GetInt(7);
  d.content_hash = r.GetString(8);
  d.version = static_cast<int>(r.GetInt(9));
  d.status = r.GetString(10);
  d.error = r.GetOptString(11);
  d.error_code = r.GetOptString(12);
  d.metadata_json = r.GetString(13);
  d.extracted_json = r.GetString(14);
  d.chunking_json = r.GetString(15);
  d.chunk_count = static_cast<int>(r.GetInt(16));
  d.token_count = r.GetInt(17);
  d.job_id = r.GetOptString(18);
  d.created_at_ms = r.GetInt(19);
  d.updated_at_ms = r.GetInt(20);
  d.indexed_at_ms = r.GetOptInt(21);
  return d;
}

ChunkRecord ChunkFromRow(const Row& r) {
  ChunkRecord c;
  c.id = r.GetInt(0);
  c.workspace_id = r.GetString(1);
  c.document_id = r.GetString(2);
  c.version = static_cast<int>(r.GetInt(3));
  c.ordinal = static_cast<int>(r.GetInt(4));
  c.text = r.GetString(5);
  c.heading_path = r.GetString(6);
  c.page_start = static_cast<int>(r.GetInt(7));
  c.page_end = static_cast<int>(r.GetInt(8));
  c.char_begin = r.GetInt(9);
  c.char_end = r.GetInt(10);
  c.token_count = static_cast<int>(r.GetInt(11));
  c.embedding_b64 = r.GetOptString(12);
  c.embedding_model = r.GetOptString(13);
  c.created_at_ms = r.GetInt(14);
  return c;
}

ChunkHit HitFromRow(const Row& r) {
  ChunkHit h;
  h.chunk = ChunkFromRow(r);
  h.title = r.GetString(15);
  h.url = r.GetOptString(16);
  h.metadata_json = r.GetString(17);
  h.document_created_at_ms = r.GetInt(18);
  h.score = r.GetDouble(19);
  return h;
}

std::optional<DocumentRecord> FirstDoc(const Result& result) {
  if (result.empty()) return std::nullopt;
  return DocFromRow(result.front());
}

// The user's words, and nothing else, become the full-text query: letters and digits (any
// script: bytes >= 0x80 belong to multi-byte characters) form words, everything else separates
// them, so no full-text operator, quote or column filter can be injected. A repeated word counts
// once (it would otherwise weigh twice in the ranking). At most 32 distinct words.
std::vector<std::string> QueryWords(std::string_view query) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && words.size() < 32 && std::find(words.begin(), words.end(), word) == words.end()) {
      words.push_back(word);
    }
    word.clear();
  };
  for (char ch : query) {
    const auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) != 0 || u >= 0x80) {
      word += static_cast<char>(std::tolower(u));
    } else {
      flush();
    }
  }
  flush();
  return words;
}

std::string JoinWith(const std::vector<std::string>& parts, std::string_view op) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += op;
    out += part;
  }
  return out;
}

// Queries with more words than this go from "every word" straight to "any word": the levels in
// between take up to C(n, k) sub-queries (10 at most for 5 words), and for longer queries they
// measured slower than the any-word query they were meant to avoid.
constexpr std::size_t kLevelWords = 5;

// The tsquery for chunks containing at least `k` of the words (1 <= k <= n): all of them
// (k = n), any of them (k = 1), or in between (n <= kLevelWords) any of the k-word groups with
// all their words. Every word is quoted as a lexeme; none contains a quote.
std::string AtLeast(const std::vector<std::string>& words, std::size_t k) {
  // Strings here are built by appending: GCC 12 at -O3 reports a false -Werror=restrict on
  // "literal" + std::string, which breaks the Release build.
  std::vector<std::string> quoted;
  for (const auto& w : words) {
    std::string q(1, '\'');
    q += w;
    q += '\'';
    quoted.push_back(std::move(q));
  }
  if (k == quoted.size()) return JoinWith(quoted, " & ");
  if (k == 1) return JoinWith(quoted, " | ");
  std::vector<std::string> groups;
  for (unsigned mask = 1; mask < (1U << quoted.size()); ++mask) {
    if (static_cast<std::size_t>(std::popcount(mask)) != k) continue;
    std::vector<std::string> group;
    for (std::size_t i = 0; i < quoted.size(); ++i) {
      if ((mask >> i & 1U) != 0) group.push_back(quoted[i]);
    }
    std::string parenthesised = "(";
    parenthesised += JoinWith(group, " & ");
    parenthesised += ')';
    groups.push_back(std::move(parenthesised));
  }
  return JoinWith(groups, " | ");
}

struct Ranked {
  std::int64_t id = 0;
  double score = 0;
};

}  // namespace

namespace documents {

void Insert(Tx& tx, const DocumentRecord& d) {
  tx.Exec(kInsertDoc, {d.id, d.workspace_id, d.title, d.url, d.external_id, d.filename, d.format, d.size_bytes,
                       d.content_hash, d.version, d.status, d.metadata_json, d.job_id, d.created_at_ms});
}

std::optional<DocumentRecord> Find(Tx& tx, std::string_view workspace_id, std::string_view id) {
  return FirstDoc(tx.Exec(kFindDoc, {workspace_id, id}));
}

std::optional<DocumentRecord> FindByHash(Tx& tx, std::string_view workspace_id, std::string_view content_hash) {
  return FirstDoc(tx.Exec(kFindByHash, {workspace_id, content_hash}));
}

std::optional<DocumentRecord> FindByExternalId(Tx& tx, std::string_view workspace_id, std::string_view external_id) {
  return FirstDoc(tx.Exec(kFindByExternal, {workspace_id, external_id}));
}

std::vector<DocumentRecord> List(Tx& tx, std::string_view workspace_id,
                                 const std::optional<std::pair<std::int64_t, std::string>>& after, int limit,
                                 std::string_view status) {
  // No cursor: everything sorts after (-1, "").
  const std::int64_t after_ms = after ? after->first : -1;
  const std::string after_id = after ? after->second : "";
  std::vector<DocumentRecord> out;
  for (const Row& r : tx.Exec(kList, {workspace_id, status, after_ms, after_id, limit})) out.push_back(DocFromRow(r));
  return out;
}

int NewVersion(Tx& tx, const DocumentRecord& d) {
  Result r = tx.Exec(kNewVersion, {d.workspace_id, d.id, d.title, d.url, d.filename, d.format, d.size_bytes,
                                   d.content_hash, d.metadata_json, d.updated_at_ms});
  return static_cast<int>(r.front().GetInt(0));
}

void SetJob(Tx& tx, std::string_view workspace_id, std::string_view id, std::string_view job_id) {
  tx.Exec(kSetJob, {workspace_id, id, job_id});
}

bool MarkProcessing(Tx& tx, std::string_view workspace_id, std::string_view id, int version, std::int64_t now_ms) {
  return tx.Exec(kMarkProcessing, {workspace_id, id, version, now_ms}).affected() == 1;
}

bool MarkReady(Tx& tx, std::string_view workspace_id, std::string_view id, int version, std::string_view format,
               std::string_view extracted_json, std::string_view chunking_json, int chunk_count,
               std::int64_t token_count, std::int64_t now_ms) {
  return tx.Exec(kMarkReady,
                 {workspace_id, id, version, format, extracted_json, chunking_json, chunk_count, token_count, now_ms})
             .affected() == 1;
}

bool MarkFailed(Tx& tx, std::string_view workspace_id, std::string_view id, int version, std::string_view code,
                std::string_view error, std::int64_t now_ms) {
  return tx.Exec(kMarkFailed, {workspace_id, id, version, code, error, now_ms}).affected() == 1;
}

std::optional<std::vector<std::int64_t>> Delete(Tx& tx, std::string_view workspace_id, std::string_view id) {
  std::vector<std::int64_t> ids;
  for (const Row& r : tx.Exec(kChunkIdsOfDoc, {workspace_id, id})) ids.push_back(r.GetInt(0));
  tx.Exec(kDeleteChunksOfDoc, {workspace_id, id});
  if (tx.Exec(kDeleteDoc, {workspace_id, id}).affected() == 0) return std::nullopt;
  return ids;
}

std::int64_t Count(Tx& tx, std::string_view workspace_id) {
  return tx.Exec(kCountDocs, {workspace_id}).front().GetInt(0);
}

void PutSource(Tx& tx, std::string_view workspace_id, std::string_view id, int version,
               const std::optional<std::string>& content_type, std::string_view content_b64) {
  tx.Exec(kPutSource, {workspace_id, id, version, content_type, content_b64});
}

std::optional<Source> GetSource(Tx& tx, std::string_view workspace_id, std::string_view id) {
  Result r = tx.Exec(kGetSource, {workspace_id, id});
  if (r.empty()) return std::nullopt;
  return Source{static_cast<int>(r.front().GetInt(0)), r.front().GetOptString(1), r.front().GetString(2)};
}

}  // namespace documents

namespace chunks {

std::vector<std::int64_t> Replace(Tx& tx, std::string_view workspace_id, std::string_view document_id,
                                  const std::vector<ChunkRecord>& rows) {
  if (tx.backend() == Backend::kPostgres) tx.Exec(kLockChunkWriters, {workspace_id});
  std::vector<std::int64_t> old;
  for (const Row& r : tx.Exec(kChunkIdsOfDoc, {workspace_id, document_id})) old.push_back(r.GetInt(0));
  tx.Exec(kDeleteChunksOfDoc, {workspace_id, document_id});
  for (const auto& c : rows) {
    tx.Exec(kInsertChunk,
            {workspace_id, document_id, c.version, c.ordinal, c.text, c.heading_path, c.page_start, c.page_end,
             c.char_begin, c.char_end, c.token_count, c.embedding_b64, c.embedding_model, c.created_at_ms});
  }
  return old;
}

std::vector<ChunkRecord> ForDocument(Tx& tx, std::string_view workspace_id, std::string_view document_id, int offset,
                                     int limit) {
  std::vector<ChunkRecord> out;
  for (const Row& r : tx.Exec(kChunksOfDoc, {workspace_id, document_id, offset, limit})) {
    out.push_back(ChunkFromRow(r));
  }
  return out;
}

std::vector<ChunkText> TextsAfter(Tx& tx, std::string_view workspace_id, std::int64_t after_id, int limit) {
  std::vector<ChunkText> out;
  for (const Row& r : tx.Exec(kTextsAfter, {workspace_id, after_id, limit}))
    out.push_back({r.GetInt(0), r.GetString(1)});
  return out;
}

std::vector<ChunkRecord> EmbeddedAfter(Tx& tx, std::string_view workspace_id, std::int64_t after_id, int limit) {
  std::vector<ChunkRecord> out;
  for (const Row& r : tx.Exec(kEmbeddedAfter, {workspace_id, after_id, limit})) out.push_back(ChunkFromRow(r));
  return out;
}

std::vector<ChunkHit> Hydrate(Tx& tx, std::string_view workspace_id, const std::vector<std::int64_t>& ids) {
  std::vector<ChunkHit> out;
  if (ids.empty()) return out;
  for (const Row& r : tx.Exec(kHydrate, {workspace_id, Json(ids).dump()})) out.push_back(HitFromRow(r));
  return out;
}

std::vector<ChunkHit> Keyword(Tx& tx, std::string_view workspace_id, std::string_view query, int limit) {
  if (tx.backend() != Backend::kPostgres) throw std::logic_error("chunks::Keyword: PostgreSQL only");
  std::vector<ChunkHit> out;
  const auto words = QueryWords(query);
  if (words.empty() || limit <= 0) return out;
  const std::size_t n = words.size();
  const std::string any = AtLeast(words, 1);
  // Levels, most words first: chunks with all n words, then only to fill up to `limit` those with
  // at least n - 1 (new ones: exactly n - 1), … then with any. Ranking, not matching, is what
  // costs, and each level has far fewer matches than the any-word query (on 100k chunks often
  // thousands against tens of thousands), so most searches never rank those.
  std::vector<std::size_t> levels{n};
  for (std::size_t k = n - 1; k >= 1; --k) {
    if (n <= kLevelWords || k == 1) levels.push_back(k);
  }
  std::vector<Ranked> best;
  std::unordered_set<std::int64_t> seen;
  for (std::size_t k : levels) {
    if (static_cast<int>(best.size()) >= limit) break;
    // A level short of `limit` returned all its matches, so the next level's first `limit` hold
    // at most best.size() seen ones and enough new ones, ranked by the any-word query (kTsBest).
    for (const Row& row : tx.Exec(kTsBest, {workspace_id, AtLeast(words, k), any, limit})) {
      const Ranked r{row.GetInt(0), row.GetDouble(1)};
      if (static_cast<int>(best.size()) == limit) break;
      if (seen.insert(r.id).second) best.push_back(r);
    }
  }
  if (best.empty()) return out;

  std::vector<std::int64_t> ids;
  ids.reserve(best.size());
  for (const Ranked& r : best) ids.push_back(r.id);
  std::unordered_map<std::int64_t, ChunkHit> hydrated;
  for (ChunkHit& hit : Hydrate(tx, workspace_id, ids)) hydrated.emplace(hit.chunk.id, std::move(hit));
  for (const Ranked& r : best) {
    auto it = hydrated.find(r.id);
    // Deleted between the statements (a write transaction on PostgreSQL reads at READ COMMITTED).
    if (it == hydrated.end()) continue;
    it->second.score = r.score;
    out.push_back(std::move(it->second));
  }
  return out;
}

std::int64_t MaxId(Tx& tx, std::string_view workspace_id) {
  return tx.Exec(kMaxChunkId, {workspace_id}).front().GetInt(0);
}

}  // namespace chunks

}  // namespace studio::store
