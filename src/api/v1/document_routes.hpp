#pragma once
// The knowledge base's documents: the seed's batch ingest, uploads (multipart or JSON), listing,
// inspection, deletion, reindexing and chunk listing. Handlers stay thin: the pipeline
// (ingest::Ingestion) stores, enqueues and deletes; these routes parse, validate and shape JSON.

#include "api/v1/guard.hpp"
#include "http/router.hpp"

namespace studio::api::v1 {

void AddDocumentRoutes(http::Router& router, ApiContext& ctx);

}  // namespace studio::api::v1
