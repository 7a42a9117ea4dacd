// The retriever on both backends, with real embeddings from the local model.

#include "search/retriever/retriever.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "search/embed/local_embedder.hpp"
#include "search/embed/make_embedder.hpp"
#include "search/retriever/embedding_codec.hpp"
#include "store/documents_repo.hpp"
#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
// The fixture's own suite is instantiated by test_support.cpp but has no cases in this binary.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreTest);
}  // namespace studio::store::testing

namespace studio::search {
namespace {

namespace fs = std::filesystem;
using store::Backend;
using store::ChunkRecord;
using store::DocumentRecord;
using store::Tx;

// Chunk texts of workspace A, one document each. The queries below use other words than these
// (vector search) or the same (keyword search).
constexpr const char* kPassword =
    "To reset your password, open Settings, choose Security and click Reset password. A link to choose a new "
    "password is emailed to you and expires after one hour.";
constexpr const char* kBilling =
    "Invoices are issued on the first day of every month. You can pay by credit card or bank transfer; receipts "
    "are available in the billing section.";
constexpr const char* kShipping =
    "Orders ship within two business days. International delivery usually takes one to two weeks, and every "
    "parcel can be tracked online.";
constexpr const char* kPets =
    "Dogs and cats are welcome in our office. Pets must stay on a leash in shared spaces and are not allowed in "
    "the kitchen.";
// Workspace B.
constexpr const char* kBread =
    "Bake the bread at 220 degrees for forty minutes, until the crust is golden and sounds hollow when tapped.";

// The local model under another name: the same vectors in what the index must treat as another
// vector space.
class RenamedEmbedder final : public Embedder {
 public:
  explicit RenamedEmbedder(Embedder& inner) : inner_(inner) {}
  std::string_view name() const override { return "renamed"; }
  std::string model() const override { return inner_.model(); }
  int dimension() const override { return inner_.dimension(); }
  std::vector<Vector> Embed(std::span<const std::string> texts) override { return inner_.Embed(texts); }

 private:
  Embedder& inner_;
};

SearchRequest Request(std::string query, SearchMode mode = SearchMode::kHybrid, int top_k = 10) {
  SearchRequest request;
  request.query = std::move(query);
  request.mode = mode;
  request.top_k = top_k;
  return request;
}

class RetrieverTest : public store::testing::StoreTest {
 protected:
  static void SetUpTestSuite() {
    const std::string path = DefaultModelsDir() + "/" + std::string(LocalEmbedder::kFileName);
    if (fs::exists(path)) embedder_ = new LocalEmbedder(path);
  }
  static void TearDownTestSuite() {
    delete embedder_;
    embedder_ = nullptr;
  }

  void SetUp() override {
    if (embedder_ == nullptr) {
      const char* require = std::getenv("STUDIO_REQUIRE_MODELS");
      if (require != nullptr && std::string(require) == "1") {
        FAIL() << "glove-100d.bin is missing from " << DefaultModelsDir() << ": run scripts/fetch-models.sh";
      }
      GTEST_SKIP() << "glove-100d.bin is missing from " << DefaultModelsDir() << " (run scripts/fetch-models.sh)";
    }
    StoreTest::SetUp();
    if (IsSkipped()) return;
    store::Migrate(db());
    db().Write([](Tx& tx) {
      store::workspaces::Insert(tx, {"wks_a", "A", "a", "free"});
      store::workspaces::Insert(tx, {"wks_b", "B", "b", "free"});
    });
    data_dir_ = fs::path(::testing::TempDir()) /
                ("retriever-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    registry_ = std::make_unique<IndexRegistry>(data_dir_, IdentityOf(*embedder_), IndexParams{.ef_construction = 40});
    retriever_ = std::make_unique<Retriever>(db(), *embedder_, *registry_);

    AddDocument("wks_a", "doc_password", "Account help", 1000, R"({"tags":["account","security"]})", {kPassword});
    AddDocument("wks_a", "doc_billing", "Billing", 2000, R"({"tags":["billing"]})", {kBilling});
    AddDocument("wks_a", "doc_shipping", "Shipping", 3000, R"({"tags":["orders","billing"]})", {kShipping});
    AddDocument("wks_a", "doc_pets", "Office rules", 4000, "{}", {kPets});
    AddDocument("wks_b", "doc_bread", "Recipes", 1000, "{}", {kBread});
  }

  void TearDown() override {
    retriever_.reset();
    registry_.reset();
    if (!data_dir_.empty()) fs::remove_all(data_dir_);
    StoreTest::TearDown();
  }

  // A document with one chunk per text, embedded by `embedder` (the local model by default).
  std::vector<std::int64_t> AddDocument(const std::string& ws, const std::string& id, const std::string& title,
                                        std::int64_t created_at, const std::string& metadata,
                                        const std::vector<std::string>& texts, Embedder* embedder = nullptr) {
    Embedder& e = embedder != nullptr ? *embedder : *embedder_;
    const std::vector<Vector> vectors = e.Embed(texts);
    DocumentRecord doc;
    doc.id = id;
    doc.workspace_id = ws;
    doc.title = title;
    doc.url = "https://example.test/" + id;
    doc.content_hash = "hash-" + id;
    doc.metadata_json = metadata;
    doc.created_at_ms = created_at;
    doc.updated_at_ms = created_at;
    std::vector<ChunkRecord> rows;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      ChunkRecord c;
      c.workspace_id = ws;
      c.document_id = id;
      c.version = 1;
      c.ordinal = static_cast<int>(i);
      c.text = texts[i];
      c.heading_path = title + " > Part " + std::to_string(i + 1);
      c.page_start = c.page_end = static_cast<int>(i + 1);
      c.char_end = static_cast<std::int64_t>(texts[i].size());
      c.token_count = 30;
      c.embedding_b64 = EncodeEmbedding(vectors[i]);
      c.embedding_model = EmbeddingModelId(e);
      c.created_at_ms = created_at;
      rows.push_back(std::move(c));
    }
    db().Write([&](Tx& tx) {
      store::documents::Insert(tx, doc);
      store::chunks::Replace(tx, ws, id, rows);
    });
    std::vector<std::int64_t> ids;
    for (const auto& c : db().ReadValue([&](Tx& tx) { return store::chunks::ForDocument(tx, ws, id, 0, 1000); })) {
      ids.push_back(c.id);
    }
    return ids;
  }

  SearchResult Search(const std::string& ws, const std::string& query, SearchMode mode, int top_k = 10,
                      SearchFilter filter = {}, std::optional<double> threshold = std::nullopt) {
    SearchRequest request = Request(query, mode, top_k);
    request.filter = std::move(filter);
    request.threshold = threshold;
    return retriever_->Search(ws, request);
  }

  static std::vector<std::string> Documents(const SearchResult& result) {
    std::vector<std::string> out;
    for (const auto& hit : result.hits) out.push_back(hit.document_id);
    return out;
  }

  static std::string First(const SearchResult& result) {
    return result.hits.empty() ? std::string("(none)") : result.hits.front().document_id;
  }

  static inline LocalEmbedder* embedder_ = nullptr;
  fs::path data_dir_;
  std::unique_ptr<IndexRegistry> registry_;
  std::unique_ptr<Retriever> retriever_;
};

constexpr SearchMode kAllModes[] = {SearchMode::kVector, SearchMode::kKeyword, SearchMode::kHybrid};

TEST_P(RetrieverTest, EachModeFindsTheRightChunkFirst) {
  // Vector: none of the chunk's distinctive words.
  const SearchResult vector = Search("wks_a", "I forgot my login credentials", SearchMode::kVector);
  ASSERT_FALSE(vector.hits.empty());
  EXPECT_EQ(First(vector), "doc_password");
  const SearchHit& top = vector.hits.front();
  ASSERT_TRUE(top.cosine);
  EXPECT_DOUBLE_EQ(top.score, *top.cosine);
  EXPECT_GT(top.score, 0);
  EXPECT_LE(top.score, 1.0001);
  EXPECT_EQ(top.vector_rank, 1u);
  EXPECT_FALSE(top.keyword_rank);
  EXPECT_EQ(top.title, "Account help");
  EXPECT_EQ(top.url, "https://example.test/doc_password");
  EXPECT_EQ(top.heading_path, "Account help > Part 1");
  EXPECT_EQ(top.page_start, 1);
  for (std::size_t i = 1; i < vector.hits.size(); ++i) EXPECT_LE(vector.hits[i].score, vector.hits[i - 1].score);

  const SearchResult keyword = Search("wks_a", "invoices receipts", SearchMode::kKeyword);
  ASSERT_EQ(Documents(keyword), std::vector<std::string>{"doc_billing"});
  const SearchHit& kw = keyword.hits.front();
  EXPECT_GT(kw.score, 0);
  EXPECT_LT(kw.score, 1);
  EXPECT_EQ(kw.keyword_score, kw.score);
  EXPECT_EQ(kw.keyword_rank, 1u);
  EXPECT_FALSE(kw.cosine);  // keyword mode does not touch the vector index

  const SearchResult hybrid = Search("wks_a", "when will my parcel be delivered", SearchMode::kHybrid);
  ASSERT_FALSE(hybrid.hits.empty());
  EXPECT_EQ(First(hybrid), "doc_shipping");
  const SearchHit& h = hybrid.hits.front();
  // Found by both lists: the fused score is the sum of both reciprocal ranks.
  ASSERT_TRUE(h.vector_rank && h.keyword_rank && h.cosine && h.keyword_score);
  EXPECT_NEAR(h.score, 1.0 / (60 + *h.vector_rank) + 1.0 / (60 + *h.keyword_rank), 1e-9);
  // Every hybrid hit knows its cosine (the vectors of keyword-only hits come from the index).
  for (const auto& hit : hybrid.hits) EXPECT_TRUE(hit.cosine) << hit.document_id;
  EXPECT_GT(hybrid.timings.total.count(), 0);
}

TEST_P(RetrieverTest, WorkspacesNeverSeeEachOthersChunks) {
  for (SearchMode mode : kAllModes) {
    // B's search with A's exact text: only B's chunk can come back.
    for (const SearchHit& hit : Search("wks_b", kPassword, mode).hits) EXPECT_EQ(hit.document_id, "doc_bread");
    for (const SearchHit& hit : Search("wks_a", kBread, mode).hits) EXPECT_NE(hit.document_id, "doc_bread");
  }
  // Keyword search over a word only A has finds nothing in B.
  EXPECT_TRUE(Search("wks_b", "password invoices", SearchMode::kKeyword).hits.empty());
  EXPECT_EQ(First(Search("wks_b", kBread, SearchMode::kVector)), "doc_bread");
  // A workspace without chunks: empty, not an error.
  db().Write([](Tx& tx) { store::workspaces::Insert(tx, {"wks_c", "C", "c", "free"}); });
  for (SearchMode mode : kAllModes) EXPECT_TRUE(Search("wks_c", kPassword, mode).hits.empty());
}

TEST_P(RetrieverTest, ChunksDeletedInTheDatabaseDisappear) {
  EXPECT_EQ(First(Search("wks_a", "dogs and cats in the office", SearchMode::kVector)), "doc_pets");
  const auto pets = db().ReadValue([](Tx& tx) { return store::chunks::ForDocument(tx, "wks_a", "doc_pets", 0, 10); });
  ASSERT_EQ(pets.size(), 1u);
  // Another process deletes the document; this one is not told.
  db().Write([](Tx& tx) { ASSERT_TRUE(store::documents::Delete(tx, "wks_a", "doc_pets")); });
  for (SearchMode mode : kAllModes) {
    const auto documents = Documents(Search("wks_a", "dogs and cats in the office", mode));
    EXPECT_EQ(std::count(documents.begin(), documents.end(), "doc_pets"), 0) << SearchModeName(mode);
  }
  // The search noticed and dropped the vector.
  EXPECT_FALSE(registry_->Open("wks_a").index->GetVector(pets[0].id));
}

TEST_P(RetrieverTest, AVectorNewerThanTheSearchSnapshotIsNotTakenForDeleted) {
  // What a concurrent catch-up in a newer snapshot leaves behind: a vector above the watermark
  // this search caught up to, whose row this search cannot see. It is skipped, not removed.
  retriever_->CatchUp("wks_a");
  auto index = registry_->Open("wks_a").index;
  const std::int64_t newer = index->Watermark() + 1000;
  index->Add(newer, embedder_->EmbedOne(kPets));
  const auto documents = Documents(Search("wks_a", kPets, SearchMode::kVector));
  EXPECT_EQ(documents.front(), "doc_pets");
  EXPECT_EQ(documents.size(), 4u);
  EXPECT_TRUE(index->GetVector(newer));
}

TEST_P(RetrieverTest, OnChunksDeletedRemovesVectors) {
  retriever_->CatchUp("wks_a");
  const auto ids = db().WriteValue([](Tx& tx) { return *store::documents::Delete(tx, "wks_a", "doc_billing"); });
  ASSERT_EQ(ids.size(), 1u);
  auto index = registry_->Open("wks_a").index;
  ASSERT_TRUE(index->GetVector(ids[0]));
  retriever_->OnChunksDeleted("wks_a", ids);
  EXPECT_FALSE(index->GetVector(ids[0]));
  EXPECT_EQ(index->Size(), 3u);
  // A workspace whose index was never loaded: nothing to do, no error.
  retriever_->OnChunksDeleted("wks_b", {12345});
}

TEST_P(RetrieverTest, ChunksWrittenAfterTheFirstSearchAreFound) {
  const std::string query = "what is the refund policy for damaged items";
  EXPECT_NE(First(Search("wks_a", query, SearchMode::kVector)), "doc_refunds");
  const auto watermark = registry_->Open("wks_a").index->Watermark();
  const auto ids = AddDocument("wks_a", "doc_refunds", "Refunds", 5000, "{}",
                               {"Damaged items can be returned within thirty days for a full refund of the price."});
  for (SearchMode mode : kAllModes) EXPECT_EQ(First(Search("wks_a", query, mode)), "doc_refunds");
  EXPECT_EQ(registry_->Open("wks_a").index->Watermark(), ids[0]);
  EXPECT_GT(ids[0], watermark);
  // A second retriever (another process's view of the same data dir) catches up the same way.
  IndexRegistry other_registry(data_dir_ / "other", IdentityOf(*embedder_), IndexParams{.ef_construction = 40});
  Retriever other(db(), *embedder_, other_registry);
  EXPECT_EQ(other.Search("wks_a", Request(query, SearchMode::kVector)).hits.front().document_id, "doc_refunds");
}

TEST_P(RetrieverTest, AnIndexOfAnotherEmbedderIsRebuilt) {
  // A first run with "another embedder": the chunks (local model) do not belong in its index.
  RenamedEmbedder renamed(*embedder_);
  {
    IndexRegistry registry(data_dir_ / "shared", IdentityOf(renamed), IndexParams{.ef_construction = 40});
    Retriever retriever(db(), renamed, registry);
    const SearchRequest request = Request("I forgot my login credentials", SearchMode::kVector);
    EXPECT_TRUE(retriever.Search("wks_a", request).hits.empty());
    // Its own chunks do.
    AddDocument("wks_a", "doc_renamed", "Renamed", 6000, "{}", {"Passwords expire every ninety days."}, &renamed);
    ASSERT_EQ(retriever.Search("wks_a", request).hits.size(), 1u);
    EXPECT_EQ(registry.SaveAll().failures.size(), 0u);
    EXPECT_EQ(VectorIndex::Load(data_dir_ / "shared" / "vectors" / "wks_a", IdentityOf(renamed)).status,
              LoadStatus::kLoaded);
  }
  // Reopened with the local model: the saved index is of the wrong space, so it is rebuilt from
  // the database with the local model's chunks only.
  IndexRegistry registry(data_dir_ / "shared", IdentityOf(*embedder_), IndexParams{.ef_construction = 40});
  EXPECT_EQ(registry.Open("wks_a").status, LoadStatus::kNeedsRebuild);
  Retriever retriever(db(), *embedder_, registry);
  const SearchResult result = retriever.Search("wks_a", Request("I forgot my login credentials", SearchMode::kVector));
  EXPECT_EQ(First(result), "doc_password");
  const auto documents = Documents(result);
  EXPECT_EQ(std::count(documents.begin(), documents.end(), "doc_renamed"), 0);
  auto index = registry.Open("wks_a").index;
  EXPECT_EQ(index->identity(), IdentityOf(*embedder_));
  EXPECT_EQ(index->Size(), 4u);
  EXPECT_EQ(VectorIndex::Load(data_dir_ / "shared" / "vectors" / "wks_a", IdentityOf(*embedder_)).status,
            LoadStatus::kLoaded);
}

TEST_P(RetrieverTest, ASavedIndexIsLoadedAndCaughtUp) {
  retriever_->CatchUp("wks_a");  // the rebuild saves the index
  EXPECT_TRUE(registry_->SaveAll().failures.empty());
  AddDocument("wks_a", "doc_late", "Late", 7000, "{}", {"The cafeteria serves vegetarian lunch on Fridays."});
  IndexRegistry reopened(data_dir_, IdentityOf(*embedder_), IndexParams{.ef_construction = 40});
  ASSERT_EQ(reopened.Open("wks_a").status, LoadStatus::kLoaded);
  EXPECT_EQ(reopened.Open("wks_a").index->Size(), 4u);
  Retriever retriever(db(), *embedder_, reopened);
  const SearchResult result = retriever.Search("wks_a", Request("vegetarian food at lunch", SearchMode::kVector, 3));
  EXPECT_EQ(First(result), "doc_late");
  EXPECT_EQ(reopened.Open("wks_a").index->Size(), 5u);
}

TEST_P(RetrieverTest, FiltersByDocumentTagAndDate) {
  for (SearchMode mode : kAllModes) {
    SCOPED_TRACE(std::string(SearchModeName(mode)));
    // A query that matches the password chunk best, restricted to other documents.
    const std::string query = "reset password security settings billing delivery";
    SearchFilter by_document;
    by_document.document_ids = {"doc_billing", "doc_shipping", "doc_nonexistent"};
    auto documents = Documents(Search("wks_a", query, mode, 10, by_document));
    ASSERT_FALSE(documents.empty());
    for (const auto& d : documents) EXPECT_TRUE(d == "doc_billing" || d == "doc_shipping") << d;

    SearchFilter any_tag;
    any_tag.tags = {"security", "orders"};
    documents = Documents(Search("wks_a", query, mode, 10, any_tag));
    ASSERT_FALSE(documents.empty());
    for (const auto& d : documents) EXPECT_TRUE(d == "doc_password" || d == "doc_shipping") << d;

    SearchFilter all_tags;
    all_tags.tags = {"billing", "orders"};
    all_tags.tag_match = TagMatch::kAll;
    documents = Documents(Search("wks_a", query, mode, 10, all_tags));
    EXPECT_EQ(documents, std::vector<std::string>{"doc_shipping"});

    SearchFilter dates;  // created 1000, 2000, 3000, 4000: bounds are exclusive
    dates.created_after_ms = 1000;
    dates.created_before_ms = 4000;
    documents = Documents(Search("wks_a", query, mode, 10, dates));
    ASSERT_FALSE(documents.empty());
    for (const auto& d : documents) EXPECT_TRUE(d == "doc_billing" || d == "doc_shipping") << d;

    SearchFilter none;
    none.document_ids = {"doc_bread"};  // B's document, asked for from A
    EXPECT_TRUE(Search("wks_a", kBread, mode, 10, none).hits.empty());
  }
}

TEST_P(RetrieverTest, ATagFilterStillFillsTopKFromFarDownTheList) {
  // 120 chunks about passwords without the tag, 3 about gardening with it: the tagged ones rank
  // far below the first candidate page of a password query, and must still be found.
  std::vector<std::string> texts;
  texts.reserve(120);
  for (int i = 0; i < 120; ++i) {
    texts.push_back("Password rule number " + std::to_string(i) + ": reset your password and keep the new password " +
                    "secret, variant " + std::to_string(i * 7919 % 1000) + ".");
  }
  AddDocument("wks_a", "doc_many", "Many", 8000, "{}", texts);
  AddDocument("wks_a", "doc_garden", "Garden", 9000, R"({"tags":["garden"]})",
              {"Water the tomatoes every morning.", "Prune the roses in late winter.",
               "Compost improves the soil of the vegetable patch."});
  SearchFilter garden;
  garden.tags = {"garden"};
  for (SearchMode mode : {SearchMode::kVector, SearchMode::kHybrid}) {
    const auto documents = Documents(Search("wks_a", "reset your password", mode, 3, garden));
    EXPECT_EQ(documents, (std::vector<std::string>{"doc_garden", "doc_garden", "doc_garden"})) << SearchModeName(mode);
  }
}

TEST_P(RetrieverTest, ThresholdLeavesUnrelatedQueriesEmpty) {
  const std::string unrelated = "quantum chromodynamics lattice gauge theory";
  EXPECT_FALSE(Search("wks_a", unrelated, SearchMode::kVector).hits.empty());
  EXPECT_TRUE(Search("wks_a", unrelated, SearchMode::kVector, 10, {}, 0.5).hits.empty());
  EXPECT_TRUE(Search("wks_a", unrelated, SearchMode::kHybrid, 10, {}, 0.5).hits.empty());
  // A related query keeps its answer at the same threshold, and every hit clears it.
  const SearchResult related = Search("wks_a", "how do I reset my password", SearchMode::kVector, 10, {}, 0.5);
  ASSERT_FALSE(related.hits.empty());
  EXPECT_EQ(First(related), "doc_password");
  for (const auto& hit : related.hits) EXPECT_GE(*hit.cosine, 0.5);
  // Keyword mode compares the normalised keyword score.
  const SearchResult keyword = Search("wks_a", "password", SearchMode::kKeyword);
  ASSERT_EQ(keyword.hits.size(), 1u);
  const double score = keyword.hits[0].score;
  EXPECT_EQ(Search("wks_a", "password", SearchMode::kKeyword, 10, {}, score).hits.size(), 1u);
  EXPECT_TRUE(Search("wks_a", "password", SearchMode::kKeyword, 10, {}, std::min(1.0, score + 1e-6)).hits.empty());
  // The options' default applies when the request sets none.
  RetrieverOptions options;
  options.default_threshold = 0.5;
  Retriever strict(db(), *embedder_, *registry_, options);
  EXPECT_TRUE(strict.Search("wks_a", Request(unrelated, SearchMode::kVector)).hits.empty());
}

TEST_P(RetrieverTest, SnippetShowsTheQueryWordsWithHeadingAndPage) {
  const std::string filler =
      "This paragraph talks about the history of the company, its founders and the cities where it opened "
      "offices over the years. ";
  const std::string text = filler + filler +
                           "The warranty covers defects in materials for two years after "
                           "purchase. " +
                           filler + filler;
  AddDocument("wks_a", "doc_warranty", "Warranty", 9500, "{}", {"Intro.", text});
  for (SearchMode mode : kAllModes) {
    SCOPED_TRACE(std::string(SearchModeName(mode)));
    // The long chunk is mostly about something else, so vector search need not rank it first;
    // wherever it is, its snippet shows the query's words.
    const SearchResult result = Search("wks_a", "warranty defects", mode);
    if (mode != SearchMode::kVector) {
      EXPECT_EQ(First(result), "doc_warranty");
    }
    auto it = std::find_if(result.hits.begin(), result.hits.end(),
                           [](const SearchHit& h) { return h.document_id == "doc_warranty" && h.ordinal == 1; });
    ASSERT_NE(it, result.hits.end());
    const SearchHit& hit = *it;
    EXPECT_NE(hit.snippet.text.find("warranty"), std::string::npos);
    EXPECT_LT(hit.snippet.text.size(), text.size());
    ASSERT_FALSE(hit.snippet.highlights.empty());
    EXPECT_EQ(hit.snippet.text.substr(hit.snippet.highlights[0].offset, hit.snippet.highlights[0].length), "warranty");
    EXPECT_EQ(hit.heading_path, "Warranty > Part 2");
    EXPECT_EQ(hit.page_start, 2);
  }
}

TEST_P(RetrieverTest, NearDuplicatesAreDropped) {
  // Identical text in another document, and the same text with different line breaks/case of
  // one letter (cosine ~1).
  AddDocument("wks_a", "doc_copy", "Copy", 9600, "{}", {kPassword});
  AddDocument("wks_a", "doc_copy2", "Copy 2", 9700, "{}",
              {std::string("to reset your password,\nopen Settings, choose Security and click Reset password. A link "
                           "to choose a new password is emailed to you and expires after one hour.")});
  for (SearchMode mode : kAllModes) {
    const auto documents = Documents(Search("wks_a", "reset password", mode));
    const auto copies = std::count_if(documents.begin(), documents.end(), [](const std::string& d) {
      return d == "doc_password" || d == "doc_copy" || d == "doc_copy2";
    });
    // Keyword mode compares text only, and the second copy's text differs.
    EXPECT_EQ(copies, mode == SearchMode::kKeyword ? 2 : 1) << SearchModeName(mode);
  }
  // MMR keeps the top hit and still returns top_k.
  SearchRequest request = Request("reset password", SearchMode::kHybrid, 3);
  request.mmr_lambda = 0.5;
  const SearchResult mmr = retriever_->Search("wks_a", request);
  EXPECT_EQ(mmr.hits.size(), 3u);
  EXPECT_EQ(First(mmr), First(Search("wks_a", "reset password", SearchMode::kHybrid)));
}

TEST_P(RetrieverTest, RejectsInvalidRequests) {
  auto expect_invalid = [&](const SearchRequest& request, const std::string& field) {
    try {
      retriever_->Search("wks_a", request);
      ADD_FAILURE() << "accepted: " << field;
    } catch (const ValidationFailed& e) {
      ASSERT_FALSE(e.errors().empty());
      EXPECT_EQ(e.errors()[0].field, field);
    }
  };
  expect_invalid(Request("  \n"), "query");
  expect_invalid(Request(std::string(5000, 'a')), "query");
  expect_invalid(Request("x", SearchMode::kHybrid, 0), "topK");
  expect_invalid(Request("x", SearchMode::kHybrid, 101), "topK");
  SearchRequest request = Request("x");
  request.threshold = 1.5;
  expect_invalid(request, "threshold");
  request = Request("x");
  request.mmr_lambda = -0.1;
  expect_invalid(request, "mmrLambda");
  EXPECT_THROW(retriever_->Search("../etc", Request("x")), std::invalid_argument);
  EXPECT_EQ(ParseSearchMode("keyword"), SearchMode::kKeyword);
  EXPECT_FALSE(ParseSearchMode("Hybrid"));
}

TEST_P(RetrieverTest, ConcurrentSearchesWhileChunksAreWritten) {
  std::atomic<bool> stop{false};
  std::atomic<int> wrong_workspace{0}, searches{0};
  std::vector<std::thread> readers;
  readers.reserve(3);
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      const std::string ws = t % 2 == 0 ? "wks_a" : "wks_b";
      while (!stop) {
        for (SearchMode mode : kAllModes) {
          const SearchRequest request = Request(t % 2 == 0 ? kBread : kPassword, mode, 5);
          for (const auto& hit : retriever_->Search(ws, request).hits) {
            const bool is_b = hit.document_id == "doc_bread" || hit.document_id.starts_with("doc_b_");
            if (is_b != (ws == "wks_b")) ++wrong_workspace;
          }
          ++searches;
        }
      }
    });
  }
  for (int i = 0; i < 6; ++i) {
    AddDocument("wks_a", "doc_a_" + std::to_string(i), "A", 10000 + i, "{}", {"Office note " + std::to_string(i)});
    AddDocument("wks_b", "doc_b_" + std::to_string(i), "B", 10000 + i, "{}", {"Kitchen note " + std::to_string(i)});
  }
  while (searches < 12) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(wrong_workspace, 0);
  // Everything written is in the indexes after a catch-up.
  retriever_->CatchUp("wks_a");
  retriever_->CatchUp("wks_b");
  EXPECT_EQ(registry_->Open("wks_a").index->Size(), 4u + 6u);
  EXPECT_EQ(registry_->Open("wks_b").index->Size(), 1u + 6u);
}

INSTANTIATE_TEST_SUITE_P(Backends, RetrieverTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return std::string(store::BackendName(param.param));
                         });

}  // namespace
}  // namespace studio::search
