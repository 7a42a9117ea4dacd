#pragma once
// The knowledge base as one process runs it: tokenizer, embedder, job queue, per-workspace vector
// indexes, the retriever, the ingestion pipeline and (optionally) the worker threads that run
// ingestion jobs and webhook deliveries. `studio serve`, `studio worker` and `studio ingest` all
// build it from the same Config, so they agree on the embedder, the chunking and the index
// directory.
//
// Background upkeep (a thread of its own, every `upkeep_interval`): saves the vector indexes that
// changed, and deletes finished jobs older than the retention period. Shutdown stops the workers
// first (their leases are released, so another process can take the jobs at once), then saves
// the indexes one last time.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/config.hpp"
#include "ingest/pipeline/ingestion.hpp"
#include "queue/queue.hpp"
#include "queue/worker_pool.hpp"
#include "search/embed/embedder.hpp"
#include "search/embed/make_embedder.hpp"
#include "search/index/index_registry.hpp"
#include "search/retriever/retriever.hpp"
#include "search/tokenizer/tokenizer.hpp"
#include "store/db.hpp"
#include "webhooks/delivery.hpp"

namespace studio::obs {
class Registry;
}

namespace studio::app {

class KnowledgeBase {
 public:
  /// Throws std::runtime_error with a message for the operator (missing model files, a bad
  /// embedder setting).
  KnowledgeBase(const Config& config, store::Db& db);
  ~KnowledgeBase();
  KnowledgeBase(const KnowledgeBase&) = delete;
  KnowledgeBase& operator=(const KnowledgeBase&) = delete;

  /// job_queue_*, job_processing_duration_seconds, job_retries_total, job_dlq_size,
  /// document_ingestions_total. Before StartWorkers.
  void RegisterMetrics(obs::Registry& registry);
  /// Starts `threads` ingestion workers (none when 0) and the upkeep thread.
  void Start(int threads, std::chrono::milliseconds upkeep_interval = std::chrono::seconds(30));
  /// Wakes idle workers after an enqueue (no-op without workers).
  void Notify();
  /// Stops the workers (running jobs get `grace`, then their leases are released), stops upkeep
  /// and saves the indexes. Idempotent.
  void Stop(std::chrono::milliseconds grace);

  search::Embedder& embedder() { return *embedder_; }
  const search::Tokenizer& tokenizer() const { return *tokenizer_; }
  queue::JobQueue& jobs() { return jobs_; }
  search::Retriever& retriever() { return *retriever_; }
  ingest::Ingestion& ingestion() { return *ingestion_; }
  bool has_workers() const { return workers_ != nullptr; }

 private:
  void Upkeep();

  store::Db& db_;
  std::chrono::milliseconds job_retention_;
  std::chrono::milliseconds job_lease_;
  std::shared_ptr<const search::Tokenizer> tokenizer_;
  std::unique_ptr<search::Embedder> embedder_;
  queue::JobQueue jobs_;
  std::unique_ptr<search::IndexRegistry> indexes_;
  std::unique_ptr<search::Retriever> retriever_;
  std::unique_ptr<ingest::Ingestion> ingestion_;
  std::unique_ptr<webhooks::Deliverer> deliverer_;  // runs the queue "webhooks"
  std::unique_ptr<queue::WorkerPool> workers_;
  queue::WorkerPoolOptions worker_options_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread upkeep_;
};

/// The embedder settings of a Config (OPENAI_API_KEY selects the openai embedder by default).
search::EmbedderConfig EmbedderConfigOf(const Config& config);

}  // namespace studio::app
