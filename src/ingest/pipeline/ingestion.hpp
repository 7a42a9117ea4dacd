#pragma once
// Ingestion: how a source becomes searchable chunks.
//
//   Submit   one write transaction: the document row (or a new version of it), its source bytes
//            and the job that will process it. Nothing is stored without its job, and no job
//            without its document. An identical source (same SHA-256) in the workspace is not
//            stored twice; the same external id (or url) with new content becomes a new version.
//   Run      the job handler (queue "ingest", type "document.ingest"): detect the format →
//            extract text in an isolated child process → chunk → embed in batches → replace the
//            document's chunks and mark it ready in one transaction. At-least-once safe: a
//            re-run replaces the same chunks again, and a job for a superseded version writes
//            nothing.
//   Delete   the document, its source and its chunks (the keyword index follows by trigger); the
//            deleted chunk ids are returned so the caller can drop their vectors.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "ingest/chunk/chunk.hpp"
#include "ingest/extract/extract.hpp"
#include "store/db.hpp"
#include "store/documents_repo.hpp"

namespace studio::search {
class Embedder;
class Tokenizer;
}  // namespace studio::search
namespace studio::queue {
class JobQueue;
class JobContext;
}  // namespace studio::queue

namespace studio::ingest {

inline constexpr std::string_view kIngestQueue = "ingest";
inline constexpr std::string_view kIngestJobType = "document.ingest";
/// The events of IngestionOptions::on_document_event.
inline constexpr std::string_view kDocumentReady = "document.ready";
inline constexpr std::string_view kDocumentFailed = "document.failed";

struct IngestionOptions {
  extract::ExtractLimits limits;
  chunk::ChunkOptions chunking;
  /// Where a job writes the source for the extractor (removed afterwards).
  std::filesystem::path temp_dir;
  int max_attempts = 5;
  /// Texts per Embed call (the OpenAI-compatible API takes at most 100).
  int embed_batch = 100;
  /// Run the extractor in a child process (production); tests of the pipeline may turn it off.
  bool isolate_extraction = true;
  /// Unix milliseconds; empty means the system clock.
  std::function<std::int64_t()> now_ms;
  /// Called with kDocumentReady, or kDocumentFailed (a permanent failure or the last attempt),
  /// inside the transaction that makes that change, with the document as it now is: whatever it
  /// writes commits with the change or not at all (the app enqueues webhook deliveries here).
  std::function<void(store::Tx&, const store::DocumentRecord&, std::string_view event)> on_document_event;
};

struct SourceInput {
  std::string workspace_id;
  std::string bytes;  // the source as received
  std::optional<std::string> title;
  std::optional<std::string> url;
  std::optional<std::string> external_id;  // defaults to the url when there is one
  std::optional<std::string> filename;     // display only, never a path
  std::optional<std::string> content_type;
  std::string metadata_json = "{}";
  std::optional<std::string> idempotency_key;
  /// This upload's chunking (ParseChunking); the pipeline's default when empty.
  std::optional<chunk::ChunkOptions> chunking;
};

/// Chunking options from a request's JSON {strategy?: fixed|paragraph|semantic, maxTokens?,
/// overlapTokens?}: fields absent fall back to `defaults`. Throws ValidationFailed (400) naming
/// the field for an unknown strategy, maxTokens outside 64..8192 or overlapTokens outside
/// 0..maxTokens/2, or any other field.
chunk::ChunkOptions ParseChunking(const Json& json, const chunk::ChunkOptions& defaults);
/// The inverse, as stored in the job payload and the document's `chunking` column.
Json ChunkingJson(const chunk::ChunkOptions& options);

struct Submitted {
  store::DocumentRecord document;
  std::string job_id;
  /// The same source was already in the workspace: nothing new was stored or enqueued.
  bool duplicate = false;
};

class Ingestion {
 public:
  /// Everything passed must outlive the Ingestion.
  Ingestion(store::Db& db, queue::JobQueue& jobs, const search::Tokenizer& tokenizer, search::Embedder& embedder,
            IngestionOptions options);

  /// Stores the source and enqueues its job (see above). 400 for an empty source, 413 for one
  /// over the size limit.
  Submitted Submit(const SourceInput& input);
  /// Several sources in one transaction (the seed's batch ingest): all or nothing.
  std::vector<Submitted> SubmitAll(const std::vector<SourceInput>& inputs);
  /// A new version of the stored source (e.g. after a chunking change), chunked with `chunking`
  /// (the pipeline's default when empty); 404 when absent.
  Submitted Reindex(std::string_view workspace_id, std::string_view document_id,
                    const std::optional<chunk::ChunkOptions>& chunking = std::nullopt);
  /// Deleted chunk ids, or nullopt when the document does not exist in the workspace.
  std::optional<std::vector<std::int64_t>> Delete(std::string_view workspace_id, std::string_view document_id);

  /// The job handler for kIngestJobType.
  void Run(queue::JobContext& job);

  /// "embedder/model/dimension": stored with every embedding so a change of embedder is detected.
  std::string EmbeddingModel() const;
  const IngestionOptions& options() const { return options_; }

 private:
  Submitted SubmitIn(store::Tx& tx, const SourceInput& input, std::int64_t now);
  std::string EnqueueIn(store::Tx& tx, const std::string& workspace_id, const std::string& document_id, int version,
                        const std::optional<std::string>& idempotency_key,
                        const std::optional<chunk::ChunkOptions>& chunking);
  std::int64_t NowMs() const;

  store::Db& db_;
  queue::JobQueue& jobs_;
  const search::Tokenizer& tokenizer_;
  search::Embedder& embedder_;
  IngestionOptions options_;
};

}  // namespace studio::ingest
