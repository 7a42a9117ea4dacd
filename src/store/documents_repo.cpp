#include "store/documents_repo.hpp"

#include <cctype>

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
constexpr Query kMaxChunkId{"chunks.max_id", "SELECT COALESCE(MAX(id), 0) FROM chunks WHERE workspace_id = $1"};

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
// BM25 (SQLite, where smaller is better, hence the minus) and cover density (PostgreSQL).
constexpr Query kKeyword{
    "chunks.keyword",
    "SELECT c.id, c.workspace_id, c.document_id, c.version, c.ordinal, c.text, c.heading_path, c.page_start, "
    "c.page_end, c.char_begin, c.char_end, c.token_count, NULL AS embedding, c.embedding_model, c.created_at_ms, "
    "d.title, d.url, d.metadata, d.created_at_ms, -bm25(chunks_fts) AS score "
    "FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
    "JOIN documents d ON d.id = c.document_id AND d.workspace_id = c.workspace_id "
    "WHERE chunks_fts MATCH $2 AND c.workspace_id = $1 ORDER BY bm25(chunks_fts) LIMIT $3",
    "SELECT c.id, c.workspace_id, c.document_id, c.version, c.ordinal, c.text, c.heading_path, c.page_start, "
    "c.page_end, c.char_begin, c.char_end, c.token_count, NULL AS embedding, c.embedding_model, c.created_at_ms, "
    "d.title, d.url, d.metadata, d.created_at_ms, ts_rank_cd(c.tsv, q)::float8 AS score "
    "FROM chunks c JOIN documents d ON d.id = c.document_id AND d.workspace_id = c.workspace_id, "
    "to_tsquery('english', $2) q "
    "WHERE c.workspace_id = $1 AND c.tsv @@ q ORDER BY score DESC, c.id LIMIT $3"};

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
// them, so no full-text operator, quote or column filter can be injected. At most 32 words.
std::vector<std::string> QueryWords(std::string_view query) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && words.size() < 32) words.push_back(word);
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

// Any word may match (OR); the ranking rewards chunks that match more of them.
std::string FullTextQuery(Backend backend, const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += backend == Backend::kSqlite ? " OR " : " | ";
    out += backend == Backend::kSqlite ? "\"" + w + "\"" : "'" + w + "'";
  }
  return out;
}

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
  std::vector<ChunkHit> out;
  const auto words = QueryWords(query);
  if (words.empty()) return out;
  for (const Row& r : tx.Exec(kKeyword, {workspace_id, FullTextQuery(tx.backend(), words), limit})) {
    out.push_back(HitFromRow(r));
  }
  return out;
}

std::int64_t MaxId(Tx& tx, std::string_view workspace_id) {
  return tx.Exec(kMaxChunkId, {workspace_id}).front().GetInt(0);
}

}  // namespace chunks

}  // namespace studio::store
