#pragma once
// The knowledge base's rows (migration 0005): documents, their chunks with embeddings, and the
// keyword index over chunk text (FTS5 on SQLite, tsvector on PostgreSQL). Every call takes the
// workspace first: nothing here reads or writes across workspaces.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/db.hpp"

namespace studio::store {

struct DocumentRecord {
  std::string id;
  std::string workspace_id;
  std::string title;
  std::optional<std::string> url;
  std::optional<std::string> external_id;
  std::optional<std::string> filename;
  std::optional<std::string> format;
  std::int64_t size_bytes = 0;
  std::string content_hash;
  int version = 1;
  std::string status = "queued";  // queued | processing | ready | failed
  std::optional<std::string> error;
  std::optional<std::string> error_code;
  std::string metadata_json = "{}";
  std::string extracted_json = "{}";
  std::string chunking_json = "{}";
  int chunk_count = 0;
  std::int64_t token_count = 0;
  std::optional<std::string> job_id;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> indexed_at_ms;
};

struct ChunkRecord {
  std::int64_t id = 0;  // assigned by the database; the vector label
  std::string workspace_id;
  std::string document_id;
  int version = 0;
  int ordinal = 0;
  std::string text;
  std::string heading_path;
  int page_start = 0;
  int page_end = 0;
  std::int64_t char_begin = 0;
  std::int64_t char_end = 0;
  int token_count = 0;
  std::optional<std::string> embedding_b64;  // base64 float32 LE
  std::optional<std::string> embedding_model;
  std::int64_t created_at_ms = 0;
};

/// A chunk with what a search result shows of its document.
struct ChunkHit {
  ChunkRecord chunk;
  std::string title;
  std::optional<std::string> url;
  std::string metadata_json;
  std::int64_t document_created_at_ms = 0;
  double score = 0;  // keyword searches: higher is better (see chunks::Keyword)
};

namespace documents {

/// ConstraintViolation(kUnique) on a duplicate content hash or external id in the workspace.
void Insert(Tx& tx, const DocumentRecord& doc);
std::optional<DocumentRecord> Find(Tx& tx, std::string_view workspace_id, std::string_view id);
std::optional<DocumentRecord> FindByHash(Tx& tx, std::string_view workspace_id, std::string_view content_hash);
std::optional<DocumentRecord> FindByExternalId(Tx& tx, std::string_view workspace_id, std::string_view external_id);
/// Oldest first (stable under inserts), after the (created_at_ms, id) cursor; optional status filter.
std::vector<DocumentRecord> List(Tx& tx, std::string_view workspace_id,
                                 const std::optional<std::pair<std::int64_t, std::string>>& after, int limit,
                                 std::string_view status = {});
/// A new version of an existing document (re-upload with the same external id, or reindex):
/// new hash/size/format/title, status queued, version + 1. Returns the new version.
int NewVersion(Tx& tx, const DocumentRecord& doc);
void SetJob(Tx& tx, std::string_view workspace_id, std::string_view id, std::string_view job_id);
/// Status changes. They apply only while `version` is still the document's version, so a stale
/// job (superseded by a newer upload) changes nothing; false then.
bool MarkProcessing(Tx& tx, std::string_view workspace_id, std::string_view id, int version, std::int64_t now_ms);
bool MarkReady(Tx& tx, std::string_view workspace_id, std::string_view id, int version, std::string_view format,
               std::string_view extracted_json, std::string_view chunking_json, int chunk_count,
               std::int64_t token_count, std::int64_t now_ms);
bool MarkFailed(Tx& tx, std::string_view workspace_id, std::string_view id, int version, std::string_view code,
                std::string_view error, std::int64_t now_ms);
/// Deletes the document; its chunks go with it (and the keyword index with them). The ids of the
/// deleted chunks are returned so the caller can drop their vectors. Empty optional when absent.
std::optional<std::vector<std::int64_t>> Delete(Tx& tx, std::string_view workspace_id, std::string_view id);
std::int64_t Count(Tx& tx, std::string_view workspace_id);

/// The source bytes of the document's current version, base64-encoded by the caller.
void PutSource(Tx& tx, std::string_view workspace_id, std::string_view id, int version,
               const std::optional<std::string>& content_type, std::string_view content_b64);
struct Source {
  int version = 0;
  std::optional<std::string> content_type;
  std::string content_b64;
};
std::optional<Source> GetSource(Tx& tx, std::string_view workspace_id, std::string_view id);

}  // namespace documents

namespace chunks {

/// Replaces every chunk of the document with `rows` (one version): deletes all of its chunks
/// (any version), inserts the new ones. Returns the ids of the deleted chunks. On PostgreSQL it
/// first waits for the workspace's other chunk writers to finish, so the workspace's new chunk
/// ids commit in increasing order (as they always do on SQLite, with its single writer).
std::vector<std::int64_t> Replace(Tx& tx, std::string_view workspace_id, std::string_view document_id,
                                  const std::vector<ChunkRecord>& rows);
/// A document's chunks in order (text included, embeddings not).
std::vector<ChunkRecord> ForDocument(Tx& tx, std::string_view workspace_id, std::string_view document_id, int offset,
                                     int limit);
/// Chunks of the workspace with id > after_id that have an embedding, in id order (index catch-up
/// and rebuild).
std::vector<ChunkRecord> EmbeddedAfter(Tx& tx, std::string_view workspace_id, std::int64_t after_id, int limit);
/// The chunks with these ids that still exist in the workspace, with their documents.
std::vector<ChunkHit> Hydrate(Tx& tx, std::string_view workspace_id, const std::vector<std::int64_t>& ids);
/// A chunk's id and text (keyword index catch-up).
struct ChunkText {
  std::int64_t id = 0;
  std::string text;
};
/// Chunks of the workspace with id > after_id, in id order, with their text.
std::vector<ChunkText> TextsAfter(Tx& tx, std::string_view workspace_id, std::int64_t after_id, int limit);
/// PostgreSQL only (SQLite deployments search an in-memory index: search/index/keyword_index.hpp):
/// keyword search, at most `limit`. `query` is the user's words; it is turned into a safe
/// tsquery here (every word quoted: no operator injection). Chunks with more of the words come
/// first: those with every word, then, only while fewer than `limit` are found, those with all but
/// one, and so on down to any word (queries of more than five words go from every word straight
/// to any word). Within each level best first by the score (ChunkHit::score), ts_rank_cd of the
/// any-word query, which does not depend on the level: so scores decrease within a level, but a
/// chunk of a lower level may score above a higher one. Throws std::logic_error on SQLite.
std::vector<ChunkHit> Keyword(Tx& tx, std::string_view workspace_id, std::string_view query, int limit);
std::int64_t MaxId(Tx& tx, std::string_view workspace_id);

}  // namespace chunks

}  // namespace studio::store
