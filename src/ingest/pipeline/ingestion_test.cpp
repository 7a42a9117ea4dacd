// The ingestion pipeline end to end on both backends: real extraction, the real cl100k tokenizer,
// the real local embedder and the durable queue with a worker pool.

#include "ingest/pipeline/ingestion.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "queue/queue.hpp"
#include "queue/worker_pool.hpp"
#include "search/embed/local_embedder.hpp"
#include "search/embed/make_embedder.hpp"
#include "search/tokenizer/tokenizer.hpp"
#include "store/documents_repo.hpp"
#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
// This binary uses the fixture through IngestionTest only.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreTest);
}  // namespace studio::store::testing

namespace studio::ingest {
namespace {

using store::Tx;

constexpr const char* kGuide =
    "# Account help\n\n## Passwords\n\nTo reset your password, open Settings and choose Security. "
    "A reset link arrives by e-mail within two minutes.\n\n## Billing\n\nInvoices are issued on the first "
    "day of each month and can be downloaded as PDF from the Billing page.\n";

class IngestionTest : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped()) return;
    const std::string models = search::DefaultModelsDir();
    const std::string vectors = models + "/" + std::string(search::LocalEmbedder::kFileName);
    if (!std::filesystem::exists(vectors) || !std::filesystem::exists(models + "/cl100k_base.tiktoken")) {
      const char* require = std::getenv("STUDIO_REQUIRE_MODELS");
      if (require != nullptr && std::string(require) == "1") FAIL() << "models missing in " << models;
      GTEST_SKIP() << "models missing (run scripts/fetch-models.sh)";
    }
    tokenizer_ = search::Tokenizer::Load(models + "/cl100k_base.tiktoken");
    embedder_ = std::make_unique<search::LocalEmbedder>(vectors);
    store::Migrate(db());
    db().Write([](Tx& tx) {
      store::workspaces::Insert(tx, {"wks_a", "A", "a", "free"});
      store::workspaces::Insert(tx, {"wks_b", "B", "b", "free"});
    });
    temp_ = std::filesystem::temp_directory_path() / ("ingest-test-" + std::to_string(::getpid()));
    IngestionOptions options;
    options.temp_dir = temp_;
    options.max_attempts = 2;
    options.chunking.strategy = chunk::ChunkOptions::kParagraph;
    options.chunking.max_tokens = 40;
    options.chunking.overlap_tokens = 10;
    queue::JobQueueOptions qo;
    qo.backoff.base = std::chrono::milliseconds(10);
    qo.backoff.cap = std::chrono::milliseconds(20);
    jobs_ = std::make_unique<queue::JobQueue>(qo);
    ingestion_ = std::make_unique<Ingestion>(db(), *jobs_, *tokenizer_, *embedder_, options);
    pool_ = std::make_unique<queue::WorkerPool>(db(), *jobs_);
    pool_->AddQueue({.name = std::string(kIngestQueue), .concurrency = 2});
    pool_->Handle(std::string(kIngestJobType), [this](queue::JobContext& job) { ingestion_->Run(job); });
    pool_->Start();
  }
  void TearDown() override {
    if (pool_) pool_->Stop(std::chrono::seconds(5));
    pool_.reset();
    std::error_code ec;
    if (!temp_.empty()) std::filesystem::remove_all(temp_, ec);
    StoreTest::TearDown();
  }

  // Waits (generously) until the job has finished one way or the other.
  // Whether any chunk of the workspace contains the word (case-insensitively).
  bool Mentions(const std::string& workspace_id, const std::string& word) {
    auto lower = [](std::string t) {
      for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return t;
    };
    for (const auto& row :
         db().ReadValue([&](Tx& tx) { return store::chunks::TextsAfter(tx, workspace_id, 0, 10000); })) {
      if (lower(row.text).find(lower(word)) != std::string::npos) return true;
    }
    return false;
  }

  queue::Job WaitFor(const std::string& job_id) {
    pool_->Notify();
    for (int i = 0; i < 600; ++i) {
      auto job = db().ReadValue([&](Tx& tx) { return jobs_->Get(tx, queue::Scope::Platform(), job_id); });
      if (job && (job->status == queue::JobStatus::kCompleted || job->status == queue::JobStatus::kDead)) return *job;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << job_id << " did not finish";
    return {};
  }

  store::DocumentRecord Doc(const std::string& ws, const std::string& id) {
    return *db().ReadValue([&](Tx& tx) { return store::documents::Find(tx, ws, id); });
  }

  SourceInput Text(const std::string& ws, std::string bytes, const std::string& filename = "guide.md") {
    SourceInput in;
    in.workspace_id = ws;
    in.bytes = std::move(bytes);
    in.filename = filename;
    return in;
  }

  std::shared_ptr<const search::Tokenizer> tokenizer_;
  std::unique_ptr<search::LocalEmbedder> embedder_;
  std::unique_ptr<queue::JobQueue> jobs_;
  std::unique_ptr<Ingestion> ingestion_;
  std::unique_ptr<queue::WorkerPool> pool_;
  std::filesystem::path temp_;
};

TEST_P(IngestionTest, MarkdownBecomesEmbeddedSearchableChunksWithHeadings) {
  Submitted s = ingestion_->Submit(Text("wks_a", kGuide));
  EXPECT_FALSE(s.duplicate);
  EXPECT_EQ(s.document.status, "queued");
  EXPECT_EQ(s.document.title, "guide.md");
  queue::Job job = WaitFor(s.job_id);
  ASSERT_EQ(job.status, queue::JobStatus::kCompleted) << job.errors_json;

  store::DocumentRecord doc = Doc("wks_a", s.document.id);
  EXPECT_EQ(doc.status, "ready");
  EXPECT_EQ(doc.format, "markdown");
  EXPECT_GE(doc.chunk_count, 2);
  auto chunks = db().ReadValue([&](Tx& tx) { return store::chunks::ForDocument(tx, "wks_a", doc.id, 0, 100); });
  ASSERT_EQ(static_cast<int>(chunks.size()), doc.chunk_count);
  bool billing_heading = false;
  for (const auto& c : chunks) {
    EXPECT_LE(c.token_count, 40);
    EXPECT_EQ(c.embedding_model, ingestion_->EmbeddingModel());
    if (c.text.find("Invoices") != std::string::npos)
      billing_heading = c.heading_path.find("Billing") != std::string::npos;
  }
  EXPECT_TRUE(billing_heading);
  auto embedded = db().ReadValue([](Tx& tx) { return store::chunks::EmbeddedAfter(tx, "wks_a", 0, 100); });
  ASSERT_EQ(embedded.size(), chunks.size());
  // 100 float32 components, base64url without padding.
  EXPECT_EQ(embedded[0].embedding_b64->size(), (100 * 4 * 4 + 2) / 3);
  EXPECT_TRUE(Mentions("wks_a", "reset"));
  EXPECT_FALSE(Mentions("wks_b", "reset"));
}

TEST_P(IngestionTest, IdenticalSourceIsStoredOnceAndExternalIdMakesVersions) {
  Submitted first = ingestion_->Submit(Text("wks_a", kGuide));
  Submitted again = ingestion_->Submit(Text("wks_a", kGuide));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.document.id, first.document.id);
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return store::documents::Count(tx, "wks_a"); }), 1);
  // The same source in another workspace is that workspace's own document.
  EXPECT_FALSE(ingestion_->Submit(Text("wks_b", kGuide)).duplicate);
  ASSERT_EQ(WaitFor(first.job_id).status, queue::JobStatus::kCompleted);

  SourceInput v1 = Text("wks_a", "Shipping takes three days within Europe.", "shipping.txt");
  v1.url = "https://help.example.com/shipping";
  Submitted s1 = ingestion_->Submit(v1);
  ASSERT_EQ(WaitFor(s1.job_id).status, queue::JobStatus::kCompleted);
  SourceInput v2 = v1;
  v2.bytes = "Shipping takes five days to North America.";
  Submitted s2 = ingestion_->Submit(v2);
  EXPECT_EQ(s2.document.id, s1.document.id);
  EXPECT_EQ(s2.document.version, 2);
  ASSERT_EQ(WaitFor(s2.job_id).status, queue::JobStatus::kCompleted);
  auto chunks = db().ReadValue([&](Tx& tx) { return store::chunks::ForDocument(tx, "wks_a", s1.document.id, 0, 10); });
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].version, 2);
  EXPECT_NE(chunks[0].text.find("North America"), std::string::npos);
  EXPECT_FALSE(Mentions("wks_a", "Europe"));

  // Delete takes the chunks with it.
  auto deleted = ingestion_->Delete("wks_a", s1.document.id);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->size(), 1u);
  EXPECT_FALSE(Mentions("wks_a", "America"));
  EXPECT_FALSE(ingestion_->Delete("wks_a", s1.document.id));
}

TEST_P(IngestionTest, HostileInputFailsPermanentlyWithAClearCode) {
  // A PNG header: not a document format we take. Blank text: nothing to index.
  Submitted png = ingestion_->Submit(Text("wks_a", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), "photo.txt"));
  Submitted blank = ingestion_->Submit(Text("wks_a", " \n\n \t\n", "blank.txt"));
  for (const auto& [s, code] : {std::pair{png, "UNSUPPORTED_FORMAT"}, std::pair{blank, "EMPTY_DOCUMENT"}}) {
    queue::Job job = WaitFor(s.job_id);
    EXPECT_EQ(job.status, queue::JobStatus::kDead);
    EXPECT_EQ(job.attempts, 1) << "a permanent failure is not retried";
    store::DocumentRecord doc = Doc("wks_a", s.document.id);
    EXPECT_EQ(doc.status, "failed");
    EXPECT_EQ(doc.error_code, code);
    EXPECT_EQ(doc.chunk_count, 0);
  }
  EXPECT_THROW(ingestion_->Submit(Text("wks_a", "")), BadRequest);
  // Nothing was left in the temp directory.
  EXPECT_TRUE(!std::filesystem::exists(temp_) || std::filesystem::is_empty(temp_));
}

TEST_P(IngestionTest, ReindexMakesANewVersionFromTheStoredSource) {
  Submitted s = ingestion_->Submit(Text("wks_a", kGuide));
  ASSERT_EQ(WaitFor(s.job_id).status, queue::JobStatus::kCompleted);
  Submitted r = ingestion_->Reindex("wks_a", s.document.id);
  EXPECT_EQ(r.document.version, 2);
  ASSERT_EQ(WaitFor(r.job_id).status, queue::JobStatus::kCompleted);
  EXPECT_EQ(Doc("wks_a", s.document.id).status, "ready");
  EXPECT_THROW(ingestion_->Reindex("wks_b", s.document.id), NotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, IngestionTest, ::testing::Values(store::Backend::kSqlite, store::Backend::kPostgres),
                         [](const ::testing::TestParamInfo<store::Backend>& param) {
                           return std::string(store::BackendName(param.param));
                         });

}  // namespace
}  // namespace studio::ingest
