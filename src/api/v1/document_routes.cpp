#include "api/v1/document_routes.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "api/v1/body.hpp"
#include "api/v1/iso_time.hpp"
#include "api/v1/job_json.hpp"
#include "api/v1/or_null.hpp"
#include "api/v1/paging.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "http/multipart.hpp"
#include "ingest/extract/extract.hpp"
#include "ingest/pipeline/ingestion.hpp"
#include "obs/log.hpp"
#include "queue/queue.hpp"
#include "search/retriever/retriever.hpp"
#include "store/documents_repo.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxBatch = 100;  // documents per seed ingest call
constexpr std::size_t kMaxMetadataBytes = 16 * 1024;
constexpr std::size_t kMaxKeyBytes = 200;       // Idempotency-Key
constexpr std::size_t kSniffBytes = 64 * 1024;  // enough for libmagic and the DOCX probe

Json ParsedOrEmpty(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json::object() : j;
}

Json DocumentJson(const store::DocumentRecord& d) {
  Json error = d.error_code ? Json{{"code", *d.error_code}, {"message", d.error.value_or("")}} : Json(nullptr);
  return Json{{"id", d.id},
              {"title", d.title},
              {"url", OrNull(d.url)},
              {"externalId", OrNull(d.external_id)},
              {"filename", OrNull(d.filename)},
              {"format", OrNull(d.format)},
              {"sizeBytes", d.size_bytes},
              {"contentHash", d.content_hash},
              {"version", d.version},
              {"status", d.status},
              {"error", std::move(error)},
              {"metadata", ParsedOrEmpty(d.metadata_json)},
              {"extracted", ParsedOrEmpty(d.extracted_json)},
              {"chunking", ParsedOrEmpty(d.chunking_json)},
              {"chunkCount", d.chunk_count},
              {"tokenCount", d.token_count},
              {"jobId", OrNull(d.job_id)},
              {"createdAt", IsoUtcMs(d.created_at_ms)},
              {"updatedAt", IsoUtcMs(d.updated_at_ms)},
              {"indexedAt", d.indexed_at_ms ? Json(IsoUtcMs(*d.indexed_at_ms)) : Json(nullptr)}};
}

std::optional<std::string> IdempotencyKey(const Request& req) {
  auto key = req.Header("Idempotency-Key");
  if (!key) return std::nullopt;
  bool ok = !key->empty() && key->size() <= kMaxKeyBytes;
  for (char c : *key) ok = ok && c > 0x20 && c < 0x7f;
  if (!ok) {
    throw BadRequest("'Idempotency-Key' must be 1 to 200 printable ASCII characters.",
                     {{"Idempotency-Key", "is not valid"}}, "INVALID_IDEMPOTENCY_KEY");
  }
  return std::string(*key);
}

// Metadata is the client's own JSON object. `tags`, when present, must be strings: the search
// filter matches on them.
std::string MetadataOf(const Json& value) {
  if (value.is_null()) return "{}";
  if (!value.is_object()) throw ValidationFailed("'metadata' must be a JSON object.", {{"metadata", "not an object"}});
  if (auto tags = value.find("tags"); tags != value.end()) {
    bool ok = tags->is_array() && tags->size() <= 100;
    for (const auto& t : *tags) ok = ok && t.is_string() && !t.get<std::string>().empty() && t.size() <= 100;
    if (!ok) {
      throw ValidationFailed("'metadata.tags' must be an array of at most 100 non-empty strings.",
                             {{"metadata.tags", "not an array of strings"}});
    }
  }
  std::string text = value.dump();
  if (text.size() > kMaxMetadataBytes) {
    throw ValidationFailed("'metadata' is larger than 16 KiB.", {{"metadata", "too large"}});
  }
  return text;
}

std::optional<std::string> UrlOf(const std::optional<std::string>& url) {
  if (url && !url->starts_with("http://") && !url->starts_with("https://")) {
    throw ValidationFailed("'url' must be an http:// or https:// URL.", {{"url", "not an http(s) URL"}});
  }
  return url;
}

// {text|content, title?, url?, externalId?, metadata?, chunking?, contentType?}: one text document.
ingest::SourceInput FromJson(const Json& body, const ingest::IngestionOptions& defaults, std::size_t max_bytes) {
  RejectUnknownFields(
      body, {"text", "content", "title", "url", "externalId", "metadata", "chunking", "contentType", "workspaceId"});
  ingest::SourceInput in;
  const bool has_text = body.contains("text") && !body["text"].is_null();
  const bool has_content = body.contains("content") && !body["content"].is_null();
  if (has_text == has_content) {
    throw ValidationFailed("Send the document as exactly one of 'text' or 'content'.",
                           {{"text", "exactly one of text or content is required"}});
  }
  in.bytes = RequiredString(body, has_text ? "text" : "content", max_bytes);
  in.title = OptionalString(body, "title", 500);
  in.url = UrlOf(OptionalString(body, "url", 2048));
  in.external_id = OptionalString(body, "externalId", 500);
  in.metadata_json = MetadataOf(body.value("metadata", Json()));
  if (auto it = body.find("chunking"); it != body.end() && !it->is_null()) {
    in.chunking = ingest::ParseChunking(*it, defaults.chunking);
  }
  const std::string type = OptionalString(body, "contentType", 100).value_or("text/plain");
  if (type != "text/plain" && type != "text/markdown" && type != "text/html") {
    throw ValidationFailed("'contentType' must be text/plain, text/markdown or text/html.",
                           {{"contentType", "unsupported"}});
  }
  in.content_type = type;
  return in;
}

Json ParseJsonField(const std::string& text, const char* field) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    throw ValidationFailed(std::string("'") + field + "' must be JSON.", {{field, "is not JSON"}});
  }
  return j;
}

// multipart/form-data: `file` (required, once) and the optional text fields title, url,
// externalId, metadata (JSON), chunking (JSON).
ingest::SourceInput FromMultipart(const Request& req, const ingest::IngestionOptions& defaults) {
  const std::string boundary = http::multipart::BoundaryFromContentType(req.Header("Content-Type").value_or(""));
  const auto parts = http::multipart::ParseFile(req.body_file, boundary);
  ingest::SourceInput in;
  const http::multipart::Part* file = nullptr;
  for (const auto& p : parts) {
    const bool seen_before = &p != http::multipart::FindPart(parts, p.name);
    if (seen_before) {
      throw ValidationFailed("The form field '" + p.name + "' is given twice.", {{p.name, "given twice"}});
    }
    if (p.name == "file") {
      if (!p.is_file()) throw ValidationFailed("'file' must be a file part.", {{"file", "not a file"}});
      file = &p;
    } else if (p.is_file()) {
      throw ValidationFailed("Only the 'file' field may carry a file.", {{p.name, "unexpected file"}});
    } else if (p.name == "title") {
      if (p.value.size() > 500) throw ValidationFailed("'title' is too long.", {{"title", "too long"}});
      if (!p.value.empty()) in.title = p.value;
    } else if (p.name == "url") {
      if (p.value.size() > 2048) throw ValidationFailed("'url' is too long.", {{"url", "too long"}});
      if (!p.value.empty()) in.url = UrlOf(p.value);
    } else if (p.name == "externalId") {
      if (p.value.size() > 500) throw ValidationFailed("'externalId' is too long.", {{"externalId", "too long"}});
      if (!p.value.empty()) in.external_id = p.value;
    } else if (p.name == "metadata") {
      in.metadata_json = MetadataOf(ParseJsonField(p.value, "metadata"));
    } else if (p.name == "chunking") {
      in.chunking = ingest::ParseChunking(ParseJsonField(p.value, "chunking"), defaults.chunking);
    } else if (p.name != "workspaceId") {
      throw BadRequest("Unknown form field '" + p.name + "'.", {{p.name, "unknown field"}}, "UNKNOWN_FIELDS");
    }
  }
  if (!file) throw ValidationFailed("The form needs a 'file' part.", {{"file", "required"}});
  if (file->length == 0) throw BadRequest("The document is empty.", {{"file", "empty"}}, "EMPTY_DOCUMENT");
  if (file->filename && !file->filename->empty()) in.filename = *file->filename;
  if (!file->content_type.empty() && file->content_type.size() <= 200) in.content_type = file->content_type;
  // The format is checked now (415 for an image or an archive) rather than failing the job later;
  // extraction itself happens in the worker, in an isolated process.
  extract::DetectFormatFromBytes(http::multipart::ReadPartHead(req.body_file, *file, kSniffBytes),
                                 in.filename.value_or(""), in.content_type.value_or(""));
  in.bytes.reserve(file->length);
  http::multipart::ReadPart(req.body_file, *file, [&in](std::string_view piece) { in.bytes.append(piece); });
  return in;
}

std::string DocumentIdOf(const Request& req) { return std::string(req.Param("documentId")); }

Response Accepted(ApiContext& ctx, const ingest::Submitted& s) {
  if (!s.duplicate && ctx.jobs_enqueued) ctx.jobs_enqueued();
  return Response::MakeJson(s.duplicate ? 200 : 202, Json{{"document", DocumentJson(s.document)},
                                                          {"jobId", s.job_id.empty() ? Json(nullptr) : Json(s.job_id)},
                                                          {"duplicate", s.duplicate}});
}

}  // namespace

void AddDocumentRoutes(http::Router& router, ApiContext& ctx) {
  const auto& defaults = ctx.ingestion->options();

  // The seed's batch endpoint: 1..100 text documents in one transaction (all or nothing).
  http::RouteOptions batch;
  batch.body_limit = std::max<std::size_t>(std::size_t{16} << 20, ctx.max_upload_bytes);
  AddGuarded(
      router, ctx, "POST", "/api/v1/agents/customer-service/ingest",
      [&ctx, &defaults](Request& req, const Caller& caller) {
        Json body = ObjectBody(req);
        RejectUnknownFields(body, {"documents", "workspaceId"});
        CheckBodyWorkspace(body, caller.Get().workspace_id);
        const Json& docs = body.contains("documents") ? body["documents"] : Json();
        if (!docs.is_array() || docs.empty() || docs.size() > kMaxBatch) {
          throw ValidationFailed("'documents' must be an array of 1 to 100 documents.",
                                 {{"documents", "must hold 1 to 100 documents"}});
        }
        const std::optional<std::string> key = IdempotencyKey(req);
        std::vector<ingest::SourceInput> inputs;
        for (std::size_t i = 0; i < docs.size(); ++i) {
          if (!docs[i].is_object()) {
            throw ValidationFailed("documents[" + std::to_string(i) + "] must be an object.",
                                   {{"documents[" + std::to_string(i) + "]", "not an object"}});
          }
          ingest::SourceInput in = FromJson(docs[i], defaults, ctx.max_upload_bytes);
          in.workspace_id = caller.Get().workspace_id;
          if (key) in.idempotency_key = *key + "#" + std::to_string(i);
          inputs.push_back(std::move(in));
        }
        const std::string ingestion_id = NewId("ing_");
        auto submitted = ctx.ingestion->SubmitAll(inputs);
        Json job_ids = Json::array();
        Json document_ids = Json::array();
        int enqueued = 0;
        for (const auto& s : submitted) {
          if (!s.duplicate) ++enqueued;
          job_ids.push_back(s.job_id);
          document_ids.push_back(s.document.id);
        }
        if (enqueued > 0 && ctx.jobs_enqueued) ctx.jobs_enqueued();
        obs::LogInfo("documents submitted", {{"ingestionId", ingestion_id},
                                             {"workspace", caller.Get().workspace_id},
                                             {"documents", submitted.size()},
                                             {"enqueued", enqueued}});
        return Response::MakeJson(202, Json{{"ok", true},
                                            {"enqueued", enqueued},
                                            {"ingestionId", ingestion_id},
                                            {"jobIds", std::move(job_ids)},
                                            {"documentIds", std::move(document_ids)}});
      },
      batch);

  http::RouteOptions upload;
  upload.upload_to_file = true;
  upload.upload_limit = ctx.max_upload_bytes + std::size_t{64} * 1024;  // the form's own fields and boundaries
  upload.body_limit = ctx.max_upload_bytes + std::size_t{64} * 1024;    // the JSON variant
  AddGuarded(
      router, ctx, "POST", "/api/v1/documents",
      [&ctx, &defaults](Request& req, const Caller& caller) {
        ingest::SourceInput in;
        if (!req.body_file.empty()) {
          in = FromMultipart(req, defaults);
        } else {
          Json body = ObjectBody(req);
          CheckBodyWorkspace(body, caller.Get().workspace_id);
          in = FromJson(body, defaults, ctx.max_upload_bytes);
        }
        in.workspace_id = caller.Get().workspace_id;
        in.idempotency_key = IdempotencyKey(req);
        return Accepted(ctx, ctx.ingestion->Submit(in));
      },
      upload);

  AddGuarded(router, ctx, "GET", "/api/v1/documents", [&ctx](Request& req, const Caller& caller) {
    const int limit = LimitOf(req, 50, 200);
    const std::optional<TimeCursor> cursor = TimeCursorOf(req);
    const std::string status(req.Query("status").value_or(""));
    if (!status.empty() && status != "queued" && status != "processing" && status != "ready" && status != "failed") {
      BadQuery("status", "'status' must be queued, processing, ready or failed.");
    }
    const std::string& ws = caller.Get().workspace_id;
    auto docs = ctx.db->ReadValue([&](store::Tx& tx) {
      // One more than asked tells whether another page exists without a second query.
      return store::documents::List(tx, ws, cursor, limit + 1, status);
    });
    const bool more = docs.size() > static_cast<std::size_t>(limit);
    if (more) docs.resize(static_cast<std::size_t>(limit));
    Json items = Json::array();
    for (const auto& d : docs) items.push_back(DocumentJson(d));
    Json next = more ? Json(EncodeTimeCursor(docs.back().created_at_ms, docs.back().id)) : Json(nullptr);
    return Response::MakeJson(200, Json{{"items", std::move(items)}, {"nextCursor", std::move(next)}});
  });

  AddGuarded(router, ctx, "GET", "/api/v1/documents/{documentId}", [&ctx](Request& req, const Caller& caller) {
    const std::string& ws = caller.Get().workspace_id;
    const std::string id = DocumentIdOf(req);
    auto [doc, job] = ctx.db->ReadValue([&](store::Tx& tx) {
      auto d = store::documents::Find(tx, ws, id);
      std::optional<queue::Job> j;
      if (d && d->job_id) j = ctx.jobs->Get(tx, queue::Scope::Workspace(ws), *d->job_id);
      return std::make_pair(d, j);
    });
    if (!doc) throw NotFound("The document does not exist.");
    Json out = DocumentJson(*doc);
    out["job"] = job ? JobJson(*job) : Json(nullptr);
    return Response::MakeJson(200, out);
  });

  AddGuarded(router, ctx, "DELETE", "/api/v1/documents/{documentId}", [&ctx](Request& req, const Caller& caller) {
    const std::string& ws = caller.Get().workspace_id;
    auto deleted = ctx.ingestion->Delete(ws, DocumentIdOf(req));
    if (!deleted) throw NotFound("The document does not exist.");
    ctx.retriever->OnChunksDeleted(ws, *deleted);
    return Response::NoContent();
  });

  AddGuarded(router, ctx, "POST", "/api/v1/documents/{documentId}/reindex",
             [&ctx, &defaults](Request& req, const Caller& caller) {
               std::optional<chunk::ChunkOptions> chunking;
               if (!req.body.empty()) {
                 Json body = ObjectBody(req);
                 RejectUnknownFields(body, {"chunking"});
                 if (auto it = body.find("chunking"); it != body.end() && !it->is_null()) {
                   chunking = ingest::ParseChunking(*it, defaults.chunking);
                 }
               }
               return Accepted(ctx, ctx.ingestion->Reindex(caller.Get().workspace_id, DocumentIdOf(req), chunking));
             });

  AddGuarded(router, ctx, "GET", "/api/v1/documents/{documentId}/chunks", [&ctx](Request& req, const Caller& caller) {
    const int limit = LimitOf(req, 50, 200);
    const int offset = IntQuery(req, "offset", 0, 1'000'000);
    const std::string& ws = caller.Get().workspace_id;
    const std::string id = DocumentIdOf(req);
    auto [doc, chunks] = ctx.db->ReadValue([&](store::Tx& tx) {
      auto d = store::documents::Find(tx, ws, id);
      std::vector<store::ChunkRecord> c;
      if (d) c = store::chunks::ForDocument(tx, ws, id, offset, limit + 1);
      return std::make_pair(d, c);
    });
    if (!doc) throw NotFound("The document does not exist.");
    const bool more = chunks.size() > static_cast<std::size_t>(limit);
    if (more) chunks.resize(static_cast<std::size_t>(limit));
    Json items = Json::array();
    for (const auto& c : chunks) {
      items.push_back(Json{{"id", c.id},
                           {"ordinal", c.ordinal},
                           {"version", c.version},
                           {"text", c.text},
                           {"headingPath", c.heading_path},
                           {"pageStart", c.page_start},
                           {"pageEnd", c.page_end},
                           {"charBegin", c.char_begin},
                           {"charEnd", c.char_end},
                           {"tokenCount", c.token_count},
                           {"embeddingModel", OrNull(c.embedding_model)}});
    }
    return Response::MakeJson(200, Json{{"items", std::move(items)},
                                        {"total", doc->chunk_count},
                                        {"nextOffset", more ? Json(offset + limit) : Json(nullptr)}});
  });
}

}  // namespace studio::api::v1
