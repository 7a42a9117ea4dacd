#include "ingest/pipeline/ingestion.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <random>

#include "auth/secrets.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "queue/queue.hpp"
#include "queue/worker_pool.hpp"
#include "search/embed/embedder.hpp"
#include "search/retriever/embedding_codec.hpp"
#include "search/tokenizer/tokenizer.hpp"

namespace studio::ingest {
namespace {

std::string DefaultTitle(const SourceInput& in) {
  if (in.title && !in.title->empty()) return *in.title;
  if (in.filename && !in.filename->empty()) return *in.filename;
  if (in.url && !in.url->empty()) return *in.url;
  return "Untitled document";
}

// The source goes to a private temp file for the extractor: a random name (never the client's
// filename), created exclusively, readable by this user only, removed on every path out.
class TempSource {
 public:
  TempSource(const std::filesystem::path& dir, std::string_view bytes) {
    std::filesystem::create_directories(dir);
    std::random_device rd;
    for (int attempt = 0; attempt < 8 && fd_ < 0; ++attempt) {
      path_ = dir / ("ingest-" + std::to_string(rd()) + std::to_string(rd()) + ".src");
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (fd_ < 0) throw std::runtime_error("cannot create a temporary file for extraction");
    std::size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
      if (n <= 0) {
        Remove();
        throw std::runtime_error("cannot write a temporary file for extraction");
      }
      off += static_cast<std::size_t>(n);
    }
    ::close(fd_);
    fd_ = -1;
  }
  ~TempSource() { Remove(); }
  TempSource(const TempSource&) = delete;
  TempSource& operator=(const TempSource&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  void Remove() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove(path_, ec);
  }
  std::filesystem::path path_;
  int fd_ = -1;
};

Json ExtractedJson(const extract::ExtractedDocument& d) {
  Json j = Json::object();
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  };
  put("title", d.title);
  put("author", d.author);
  put("created", d.created);
  put("modified", d.modified);
  put("language", d.language);
  put("encoding", d.detected_encoding);
  if (d.page_count > 0) j["pageCount"] = d.page_count;
  return j;
}

const char* StrategyName(chunk::ChunkOptions::Strategy s) {
  switch (s) {
    case chunk::ChunkOptions::kFixed: return "fixed";
    case chunk::ChunkOptions::kParagraph: return "paragraph";
    case chunk::ChunkOptions::kSemantic: return "semantic";
  }
  return "paragraph";
}

int IntField(const Json& json, const char* field, int min, int max) {
  const Json& v = json.at(field);
  if (!v.is_number_integer() || v.get<long long>() < min || v.get<long long>() > max) {
    throw ValidationFailed("'chunking." + std::string(field) + "' must be an integer from " + std::to_string(min) +
                               " to " + std::to_string(max) + ".",
                           {{std::string("chunking.") + field, "out of range"}});
  }
  return v.get<int>();
}

}  // namespace

chunk::ChunkOptions ParseChunking(const Json& json, const chunk::ChunkOptions& defaults) {
  if (!json.is_object()) {
    throw ValidationFailed("'chunking' must be an object {strategy, maxTokens, overlapTokens}.",
                           {{"chunking", "must be an object"}});
  }
  chunk::ChunkOptions o = defaults;
  for (const auto& [key, value] : json.items()) {
    if (key == "strategy") {
      const std::string name = value.is_string() ? value.get<std::string>() : "";
      if (name == "fixed") {
        o.strategy = chunk::ChunkOptions::kFixed;
      } else if (name == "paragraph") {
        o.strategy = chunk::ChunkOptions::kParagraph;
      } else if (name == "semantic") {
        o.strategy = chunk::ChunkOptions::kSemantic;
      } else {
        throw ValidationFailed("'chunking.strategy' must be fixed, paragraph or semantic.",
                               {{"chunking.strategy", "unknown strategy"}});
      }
    } else if (key == "maxTokens") {
      o.max_tokens = IntField(json, "maxTokens", 64, 8192);
    } else if (key == "overlapTokens") {
      o.overlap_tokens = IntField(json, "overlapTokens", 0, 4096);
    } else {
      throw ValidationFailed("Unknown field 'chunking." + key + "'.", {{"chunking." + key, "unknown field"}});
    }
  }
  if (o.overlap_tokens * 2 > o.max_tokens) {
    throw ValidationFailed("'chunking.overlapTokens' must be at most half of maxTokens.",
                           {{"chunking.overlapTokens", "more than half of maxTokens"}});
  }
  return o;
}

Json ChunkingJson(const chunk::ChunkOptions& o) {
  return Json{{"strategy", StrategyName(o.strategy)}, {"maxTokens", o.max_tokens}, {"overlapTokens", o.overlap_tokens}};
}

Ingestion::Ingestion(store::Db& db, queue::JobQueue& jobs, const search::Tokenizer& tokenizer,
                     search::Embedder& embedder, IngestionOptions options)
    : db_(db), jobs_(jobs), tokenizer_(tokenizer), embedder_(embedder), options_(std::move(options)) {}

std::int64_t Ingestion::NowMs() const {
  return options_.now_ms ? options_.now_ms() : UnixMillis();
}

std::string Ingestion::EmbeddingModel() const { return search::EmbeddingModelId(embedder_); }

std::string Ingestion::EnqueueIn(store::Tx& tx, const std::string& workspace_id, const std::string& document_id,
                                 int version, const std::optional<std::string>& idempotency_key,
                                 const std::optional<chunk::ChunkOptions>& chunking) {
  queue::NewJob job;
  job.workspace_id = workspace_id;
  job.queue = std::string(kIngestQueue);
  job.type = std::string(kIngestJobType);
  Json payload{{"documentId", document_id}, {"version", version}};
  if (chunking) payload["chunking"] = ChunkingJson(*chunking);
  job.payload = payload.dump();
  job.max_attempts = options_.max_attempts;
  job.idempotency_key = idempotency_key;
  std::string job_id = jobs_.Enqueue(tx, job);
  store::documents::SetJob(tx, workspace_id, document_id, job_id);
  return job_id;
}

Submitted Ingestion::SubmitIn(store::Tx& tx, const SourceInput& in, std::int64_t now) {
  if (in.bytes.empty()) throw BadRequest("The document is empty.", {{"file", "empty"}}, "EMPTY_DOCUMENT");
  if (in.bytes.size() > options_.limits.max_bytes) {
    throw PayloadTooLarge("The document is larger than " + std::to_string(options_.limits.max_bytes) + " bytes.");
  }
  // A retried request (same Idempotency-Key) gets the document of its first attempt, even when
  // the body differs: the key names the request, not the content.
  if (in.idempotency_key) {
    if (auto job = jobs_.FindByIdempotencyKey(tx, in.workspace_id, kIngestQueue, *in.idempotency_key)) {
      const std::string doc_id = Json::parse(job->payload).value("documentId", "");
      if (auto existing = store::documents::Find(tx, in.workspace_id, doc_id)) {
        return Submitted{*existing, job->id, true};
      }
    }
  }
  const std::string hash = auth::HashSecret(in.bytes);
  if (auto existing = store::documents::FindByHash(tx, in.workspace_id, hash)) {
    return Submitted{*existing, existing->job_id.value_or(""), true};
  }
  std::optional<std::string> external_id = in.external_id ? in.external_id : in.url;

  store::DocumentRecord doc;
  doc.workspace_id = in.workspace_id;
  doc.title = DefaultTitle(in);
  doc.url = in.url;
  doc.external_id = external_id;
  doc.filename = in.filename;
  doc.size_bytes = static_cast<std::int64_t>(in.bytes.size());
  doc.content_hash = hash;
  doc.metadata_json = in.metadata_json;
  doc.created_at_ms = now;
  doc.updated_at_ms = now;

  std::optional<store::DocumentRecord> previous =
      external_id ? store::documents::FindByExternalId(tx, in.workspace_id, *external_id) : std::nullopt;
  if (previous) {
    // Changed content under the same external id: the same document, a new version.
    doc.id = previous->id;
    doc.created_at_ms = previous->created_at_ms;
    doc.version = store::documents::NewVersion(tx, doc);
  } else {
    doc.id = NewId("doc_");
    store::documents::Insert(tx, doc);
  }
  store::documents::PutSource(tx, in.workspace_id, doc.id, doc.version, in.content_type,
                              auth::Base64UrlEncode(in.bytes));
  std::string job_id = EnqueueIn(tx, in.workspace_id, doc.id, doc.version, in.idempotency_key, in.chunking);
  doc.job_id = job_id;
  doc.status = "queued";
  return Submitted{std::move(doc), std::move(job_id), false};
}

Submitted Ingestion::Submit(const SourceInput& input) {
  const std::int64_t now = NowMs();
  return db_.WriteValue([&](store::Tx& tx) { return SubmitIn(tx, input, now); });
}

std::vector<Submitted> Ingestion::SubmitAll(const std::vector<SourceInput>& inputs) {
  const std::int64_t now = NowMs();
  return db_.WriteValue([&](store::Tx& tx) {
    std::vector<Submitted> out;
    out.reserve(inputs.size());
    for (const auto& in : inputs) out.push_back(SubmitIn(tx, in, now));
    return out;
  });
}

Submitted Ingestion::Reindex(std::string_view workspace_id, std::string_view document_id,
                             const std::optional<chunk::ChunkOptions>& chunking) {
  const std::int64_t now = NowMs();
  return db_.WriteValue([&](store::Tx& tx) {
    auto doc = store::documents::Find(tx, workspace_id, document_id);
    auto source = store::documents::GetSource(tx, workspace_id, document_id);
    if (!doc || !source) throw NotFound("The document does not exist.");
    doc->updated_at_ms = now;
    doc->version = store::documents::NewVersion(tx, *doc);
    store::documents::PutSource(tx, workspace_id, doc->id, doc->version, source->content_type, source->content_b64);
    doc->status = "queued";
    doc->error.reset();
    doc->error_code.reset();
    doc->job_id = EnqueueIn(tx, doc->workspace_id, doc->id, doc->version, std::nullopt, chunking);
    return Submitted{*doc, *doc->job_id, false};
  });
}

std::optional<std::vector<std::int64_t>> Ingestion::Delete(std::string_view workspace_id,
                                                           std::string_view document_id) {
  return db_.WriteValue([&](store::Tx& tx) { return store::documents::Delete(tx, workspace_id, document_id); });
}

void Ingestion::Run(queue::JobContext& job) {
  if (!job.workspace_id()) throw queue::PermanentJobError("an ingestion job needs a workspace");
  const std::string& ws = *job.workspace_id();
  const Json payload = Json::parse(job.payload());
  const std::string doc_id = payload.at("documentId").get<std::string>();
  const int version = payload.at("version").get<int>();
  const chunk::ChunkOptions chunking =
      payload.contains("chunking") ? ParseChunking(payload["chunking"], options_.chunking) : options_.chunking;

  // A deleted document or a superseded version: nothing to do, and nothing is written.
  auto loaded = db_.ReadValue([&](store::Tx& tx) {
    auto doc = store::documents::Find(tx, ws, doc_id);
    auto source = store::documents::GetSource(tx, ws, doc_id);
    return std::make_pair(doc, source);
  });
  auto& [doc, source] = loaded;
  if (!doc || !source || doc->version != version || source->version != version) {
    job.SetResult(Json{{"skipped", "superseded or deleted"}}.dump());
    return;
  }
  const bool last_attempt = job.attempt() >= job.max_attempts();
  // Tells the listener (if any) about a status change, in the transaction that made it.
  auto announce = [&](store::Tx& tx, std::string_view event) {
    if (!options_.on_document_event) return;
    if (auto changed = store::documents::Find(tx, ws, doc_id)) options_.on_document_event(tx, *changed, event);
  };
  auto fail = [&](const std::string& code, const std::string& message) {
    db_.Write([&](store::Tx& tx) {
      if (store::documents::MarkFailed(tx, ws, doc_id, version, code, message, NowMs())) {
        announce(tx, kDocumentFailed);
      }
    });
  };

  try {
    db_.Write([&](store::Tx& tx) { store::documents::MarkProcessing(tx, ws, doc_id, version, NowMs()); });
    job.Progress(5, "extracting");
    auto bytes = auth::Base64UrlDecode(source->content_b64);
    if (!bytes) throw queue::PermanentJobError("the stored source is corrupt");

    extract::ExtractedDocument extracted;
    {
      TempSource file(options_.temp_dir, *bytes);
      bytes->clear();
      bytes->shrink_to_fit();
      const extract::Format format =
          extract::DetectFormat(file.path().string(), doc->filename.value_or(""), source->content_type.value_or(""));
      extracted = options_.isolate_extraction ? extract::ExtractIsolated(file.path().string(), format, options_.limits)
                                              : extract::Extract(file.path().string(), format, options_.limits);
    }
    if (job.stopping()) throw std::runtime_error("stopping");

    job.Progress(30, "chunking");
    chunk::ChunkInput input;
    input.text = extracted.text;
    for (const auto& s : extracted.sections) input.sections.push_back({s.heading_path, s.begin, s.end});
    for (const auto& p : extracted.pages) input.pages.push_back({p.page, p.begin, p.end});
    std::vector<chunk::Chunk> chunks =
        chunk::ChunkText(input, chunking, tokenizer_, chunk::EmbedWith(embedder_));
    if (chunks.empty()) throw extract::ExtractError("EMPTY_DOCUMENT", "the document has no text", true);

    std::vector<store::ChunkRecord> rows;
    rows.reserve(chunks.size());
    std::int64_t tokens = 0;
    const std::string model = EmbeddingModel();
    const std::int64_t now = NowMs();
    const std::size_t batch = static_cast<std::size_t>(std::max(1, options_.embed_batch));
    for (std::size_t first = 0; first < chunks.size(); first += batch) {
      const std::size_t last = std::min(chunks.size(), first + batch);
      std::vector<std::string> texts;
      for (std::size_t i = first; i < last; ++i) texts.push_back(chunks[i].text);
      std::vector<search::Vector> vectors = embedder_.Embed(texts);
      for (std::size_t i = first; i < last; ++i) {
        const chunk::Chunk& c = chunks[i];
        store::ChunkRecord r;
        r.workspace_id = ws;
        r.document_id = doc_id;
        r.version = version;
        r.ordinal = c.ordinal;
        r.text = c.text;
        r.heading_path = c.heading_path;
        r.page_start = c.page_start;
        r.page_end = c.page_end;
        r.char_begin = static_cast<std::int64_t>(c.begin);
        r.char_end = static_cast<std::int64_t>(c.end);
        r.token_count = c.token_count;
        r.embedding_b64 = search::EncodeEmbedding(vectors.at(i - first));
        r.embedding_model = model;
        r.created_at_ms = now;
        tokens += c.token_count;
        rows.push_back(std::move(r));
      }
      if (job.stopping()) throw std::runtime_error("stopping");
      job.Progress(40 + static_cast<int>(50 * last / chunks.size()), "embedding");
    }

    const Json chunking_json = ChunkingJson(chunking);
    const std::string format_name(extract::FormatName(extracted.format));
    db_.Write([&](store::Tx& tx) {
      // Only the current version may replace the chunks: a newer upload committed meanwhile wins.
      if (!store::documents::MarkReady(tx, ws, doc_id, version, format_name, ExtractedJson(extracted).dump(),
                                       chunking_json.dump(), static_cast<int>(rows.size()), tokens, now)) {
        return;
      }
      store::chunks::Replace(tx, ws, doc_id, rows);
      announce(tx, kDocumentReady);
    });
    job.SetResult(
        Json{{"documentId", doc_id}, {"version", version}, {"chunks", rows.size()}, {"tokens", tokens}}.dump());
  } catch (const extract::ExtractError& e) {
    if (e.permanent() || last_attempt) fail(e.code(), e.what());
    if (e.permanent()) throw queue::PermanentJobError(e.code() + ": " + e.what());
    throw;
  } catch (const UnsupportedMediaType& e) {
    fail("UNSUPPORTED_FORMAT", e.detail());
    throw queue::PermanentJobError(std::string("UNSUPPORTED_FORMAT: ") + e.detail());
  } catch (const queue::PermanentJobError& e) {
    fail("INGESTION_FAILED", e.what());
    throw;
  } catch (const std::exception& e) {
    if (last_attempt && !job.stopping()) fail("INGESTION_FAILED", e.what());
    throw;
  }
}

}  // namespace studio::ingest
