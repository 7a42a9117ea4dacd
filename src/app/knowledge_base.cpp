#include "app/knowledge_base.hpp"

#include <filesystem>
#include <stdexcept>

#include "app/version.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"
#include "search/embed/make_embedder.hpp"
#include "search/retriever/embedding_codec.hpp"
#include "webhooks/events.hpp"

namespace studio::app {
namespace {

ingest::IngestionOptions IngestionOptionsOf(const Config& c) {
  ingest::IngestionOptions o;
  o.limits.max_bytes = c.max_upload_bytes;
  o.temp_dir = std::filesystem::path(c.data_dir) / "tmp";
  o.max_attempts = c.job_max_attempts;
  o.chunking.max_tokens = c.chunk_tokens;
  o.chunking.overlap_tokens = c.chunk_overlap;
  o.chunking.strategy = c.chunk_strategy == "fixed"      ? chunk::ChunkOptions::kFixed
                        : c.chunk_strategy == "semantic" ? chunk::ChunkOptions::kSemantic
                                                         : chunk::ChunkOptions::kParagraph;
  return o;
}

std::string ModelsDir(const Config& c) {
  return c.models_dir.empty() ? search::DefaultModelsDir() : c.models_dir;
}

const char* OutcomeName(queue::JobFinished::Outcome o) {
  switch (o) {
    case queue::JobFinished::Outcome::kCompleted: return "completed";
    case queue::JobFinished::Outcome::kRetrying: return "retrying";
    case queue::JobFinished::Outcome::kDead: return "dead";
    case queue::JobFinished::Outcome::kReleased: return "released";
    case queue::JobFinished::Outcome::kLeaseLost: return "lease_lost";
  }
  return "unknown";
}

}  // namespace

search::EmbedderConfig EmbedderConfigOf(const Config& c) {
  search::EmbedderConfig e;
  std::string kind = c.embedder.empty() ? (c.openai_api_key.empty() ? "local" : "openai") : c.embedder;
  e.kind = search::ParseEmbedderKind(kind);
  e.models_dir = ModelsDir(c);
  e.base_url = c.openai_base_url;
  e.api_key = c.openai_api_key;
  e.model = c.embedding_model;
  return e;
}

KnowledgeBase::KnowledgeBase(const Config& c, store::Db& db) : db_(db), job_retention_(c.job_retention), job_lease_(c.job_lease) {
  const std::string tokenizer_path = ModelsDir(c) + "/cl100k_base.tiktoken";
  try {
    tokenizer_ = search::Tokenizer::Load(tokenizer_path);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot load the tokenizer " + tokenizer_path + " (run scripts/fetch-models.sh): " +
                             e.what());
  }
  search::EmbedderConfig ec = EmbedderConfigOf(c);
  if (ec.kind == search::EmbedderKind::kOpenAI && ec.api_key.empty()) {
    throw std::runtime_error("embedder openai needs OPENAI_API_KEY");
  }
  embedder_ = search::MakeEmbedder(ec);
  indexes_ = std::make_unique<search::IndexRegistry>(std::filesystem::path(c.data_dir) / "index",
                                                     search::IdentityOf(*embedder_));
  search::RetrieverOptions ro;
  if (c.search_threshold >= -1) ro.default_threshold = c.search_threshold;
  ro.vector_weight =
      c.hybrid_vector_weight >= 0 ? c.hybrid_vector_weight : search::DefaultHybridVectorWeight(*embedder_);
  retriever_ = std::make_unique<search::Retriever>(db_, *embedder_, *indexes_, ro);
  ingest::IngestionOptions io = IngestionOptionsOf(c);
  // A document event becomes a webhook delivery in the transaction that changes the document.
  io.on_document_event = [this](store::Tx& tx, const store::DocumentRecord& doc, std::string_view event) {
    webhooks::EnqueueDocumentEvent(tx, jobs_, doc, event);
  };
  ingestion_ = std::make_unique<ingest::Ingestion>(db_, jobs_, *tokenizer_, *embedder_, std::move(io));
  deliverer_ = std::make_unique<webhooks::Deliverer>(
      db_, webhooks::DeliveryOptions{.user_agent = "studio-webhooks/" + std::string(Version())});
}

KnowledgeBase::~KnowledgeBase() { Stop(std::chrono::milliseconds(0)); }

void KnowledgeBase::RegisterMetrics(obs::Registry& registry) {
  static constexpr std::array<double, 12> kBuckets{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  auto& duration = registry.AddHistogram("job_processing_duration_seconds", "Time a job's handler ran.",
                                         {"queue", "job_type"}, kBuckets);
  auto& finished = registry.AddCounter("job_runs_total", "Job runs by outcome (completed, retrying, dead, released).",
                                       {"queue", "job_type", "outcome"});
  auto& retries = registry.AddCounter("job_retries_total", "Failed runs that will be retried.", {"queue"});
  auto& ingestions = registry.AddCounter("document_ingestions_total", "Ingestion jobs finished, by outcome.",
                                         {"outcome"});
  worker_options_.on_job_finished = [&duration, &finished, &retries, &ingestions](const queue::JobFinished& f) {
    const std::string_view outcome = OutcomeName(f.outcome);
    duration.WithLabels({f.queue, f.type}).Observe(std::chrono::duration<double>(f.duration).count());
    finished.WithLabels({f.queue, f.type, outcome}).Inc();
    if (f.outcome == queue::JobFinished::Outcome::kRetrying) retries.WithLabels({f.queue}).Inc();
    if (f.type == ingest::kIngestJobType) ingestions.WithLabels({outcome}).Inc();
  };
  // Counted at scrape time: the database is the truth, whichever process ran the jobs.
  registry.AddCollector([this](obs::MetricWriter& w) {
    std::vector<queue::QueueCounts> counts;
    try {
      counts = db_.ReadValue([&](store::Tx& tx) { return jobs_.Counts(tx); });
    } catch (const std::exception&) {
      return;  // the database is down: /status/ready says so; the scrape still answers
    }
    for (const auto& q : counts) {
      const std::vector<obs::Label> labels{{"queue", q.queue}};
      w.WriteGauge("job_queue_waiting", "Jobs waiting to run (including retries).", double(q.waiting), labels);
      w.WriteGauge("job_queue_active", "Jobs leased by a worker.", double(q.active), labels);
      w.WriteGauge("job_queue_completed", "Completed jobs still retained.", double(q.completed), labels);
      w.WriteGauge("job_queue_failed", "Jobs waiting for a retry after a failed run.", double(q.failed), labels);
      w.WriteGauge("job_dlq_size", "Jobs in the dead-letter queue.", double(q.dead), labels);
    }
  });
}

void KnowledgeBase::Start(int threads, std::chrono::milliseconds upkeep_interval) {
  if (threads > 0) {
    workers_ = std::make_unique<queue::WorkerPool>(db_, jobs_, worker_options_);
    // Heartbeats renew the lease every third of it, so only a dead worker's job is taken over.
    workers_->AddQueue({.name = std::string(ingest::kIngestQueue),
                        .concurrency = threads,
                        .lease_batch = 1,
                        .visibility = job_lease_});
    workers_->Handle(std::string(ingest::kIngestJobType), [this](queue::JobContext& job) {
      ingestion_->Run(job);
      // Bring the index up to date now, so the first search after ingestion does not pay for it.
      if (job.workspace_id()) retriever_->CatchUp(*job.workspace_id());
    });
    workers_->AddQueue({.name = std::string(webhooks::kQueue), .concurrency = 2});
    workers_->Handle(std::string(webhooks::kDeliverJobType), [this](queue::JobContext& job) { deliverer_->Run(job); });
    workers_->Start();
  }
  upkeep_ = std::thread([this, upkeep_interval] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, upkeep_interval, [this] { return stopping_; })) {
      lock.unlock();
      Upkeep();
      lock.lock();
    }
  });
}

void KnowledgeBase::Upkeep() {
  try {
    auto report = indexes_->SaveAll();
    for (const auto& [workspace, error] : report.failures) {
      obs::LogWarn("cannot save a vector index", {{"workspace", workspace}, {"error", error}});
    }
    queue::CleanupOptions co;
    co.retention = job_retention_;
    if (std::int64_t removed = jobs_.Cleanup(db_, co); removed > 0) {
      obs::LogInfo("removed finished jobs", {{"count", removed}});
    }
  } catch (const std::exception& e) {
    obs::LogWarn("knowledge-base upkeep failed", {{"error", e.what()}});
  }
}

void KnowledgeBase::Notify() {
  if (workers_) workers_->Notify(ingest::kIngestQueue);
}

void KnowledgeBase::Stop(std::chrono::milliseconds grace) {
  if (workers_) workers_->Stop(grace);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (upkeep_.joinable()) upkeep_.join();
  auto report = indexes_->SaveAll();
  for (const auto& [workspace, error] : report.failures) {
    obs::LogWarn("cannot save a vector index", {{"workspace", workspace}, {"error", error}});
  }
}

}  // namespace studio::app
