// Documents, chunks and the keyword index on both backends.

#include "store/documents_repo.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "store/migrate.hpp"
#include "store/test_support.hpp"
#include "store/users_repo.hpp"
#include "store/workspaces_repo.hpp"

namespace studio::store::testing {
namespace {

DocumentRecord Doc(const std::string& id, const std::string& ws, const std::string& hash, std::int64_t at) {
  DocumentRecord d;
  d.id = id;
  d.workspace_id = ws;
  d.title = "Title " + id;
  d.content_hash = hash;
  d.created_at_ms = at;
  d.updated_at_ms = at;
  return d;
}

ChunkRecord Chunk(const std::string& ws, const std::string& doc, int version, int ordinal, const std::string& text) {
  ChunkRecord c;
  c.workspace_id = ws;
  c.document_id = doc;
  c.version = version;
  c.ordinal = ordinal;
  c.text = text;
  c.heading_path = "Guide > Part " + std::to_string(ordinal);
  c.char_begin = ordinal * 100;
  c.char_end = ordinal * 100 + static_cast<std::int64_t>(text.size());
  c.token_count = 7;
  c.embedding_b64 = "AAAA";
  c.embedding_model = "local/glove/100";
  c.created_at_ms = 5;
  return c;
}

class DocumentsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped()) return;
    Migrate(db());
    db().Write([](Tx& tx) {
      workspaces::Insert(tx, {"wks_a", "A", "a", "free"});
      workspaces::Insert(tx, {"wks_b", "B", "b", "free"});
    });
  }
};

TEST_P(DocumentsTest, InsertFindListAndUniqueness) {
  db().Write([](Tx& tx) {
    documents::Insert(tx, Doc("doc_1", "wks_a", "h1", 10));
    documents::Insert(tx, Doc("doc_2", "wks_a", "h2", 20));
    documents::Insert(tx, Doc("doc_3", "wks_b", "h1", 30));  // same content, other workspace: fine
  });
  EXPECT_THROW(db().Write([](Tx& tx) { documents::Insert(tx, Doc("doc_4", "wks_a", "h1", 40)); }), ConstraintViolation);
  auto found = db().ReadValue([](Tx& tx) { return documents::Find(tx, "wks_a", "doc_1"); });
  ASSERT_TRUE(found);
  EXPECT_EQ(found->title, "Title doc_1");
  EXPECT_EQ(found->status, "queued");
  // Another workspace's document does not exist from here.
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return documents::Find(tx, "wks_b", "doc_1"); }));
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return documents::FindByHash(tx, "wks_b", "h1"); })->id, "doc_3");

  auto page1 = db().ReadValue([](Tx& tx) { return documents::List(tx, "wks_a", std::nullopt, 1); });
  ASSERT_EQ(page1.size(), 1u);
  EXPECT_EQ(page1[0].id, "doc_1");
  auto page2 = db().ReadValue(
      [&](Tx& tx) { return documents::List(tx, "wks_a", std::make_pair(page1[0].created_at_ms, page1[0].id), 10); });
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0].id, "doc_2");
  EXPECT_TRUE(db().ReadValue([](Tx& tx) { return documents::List(tx, "wks_a", std::nullopt, 10, "ready"); }).empty());
}

TEST_P(DocumentsTest, StatusChangesOnlyApplyToTheCurrentVersion) {
  db().Write([](Tx& tx) { documents::Insert(tx, Doc("doc_1", "wks_a", "h1", 10)); });
  EXPECT_TRUE(db().WriteValue([](Tx& tx) { return documents::MarkProcessing(tx, "wks_a", "doc_1", 1, 11); }));
  auto next = db().WriteValue([](Tx& tx) {
    DocumentRecord d = Doc("doc_1", "wks_a", "h1-changed", 10);
    d.updated_at_ms = 12;
    return documents::NewVersion(tx, d);
  });
  EXPECT_EQ(next, 2);
  // The superseded version's job finishing changes nothing.
  EXPECT_FALSE(db().WriteValue(
      [](Tx& tx) { return documents::MarkReady(tx, "wks_a", "doc_1", 1, "text", "{}", "{}", 3, 30, 13); }));
  EXPECT_TRUE(db().WriteValue(
      [](Tx& tx) { return documents::MarkReady(tx, "wks_a", "doc_1", 2, "text", "{}", "{}", 3, 30, 14); }));
  auto d = db().ReadValue([](Tx& tx) { return documents::Find(tx, "wks_a", "doc_1"); });
  EXPECT_EQ((std::tuple{d->status, d->version, d->chunk_count, d->content_hash}),
            (std::tuple{std::string("ready"), 2, 3, std::string("h1-changed")}));
  EXPECT_TRUE(db().WriteValue(
      [](Tx& tx) { return documents::MarkFailed(tx, "wks_a", "doc_1", 2, "EMPTY_DOCUMENT", "no text", 15); }));
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return documents::Find(tx, "wks_a", "doc_1"); })->error_code, "EMPTY_DOCUMENT");
  // One source per document: a new version's source replaces the old one.
  db().Write([](Tx& tx) { documents::PutSource(tx, "wks_a", "doc_1", 1, std::string("text/plain"), "djE"); });
  db().Write([](Tx& tx) { documents::PutSource(tx, "wks_a", "doc_1", 2, std::nullopt, "djI"); });
  auto src = db().ReadValue([](Tx& tx) { return documents::GetSource(tx, "wks_a", "doc_1"); });
  ASSERT_TRUE(src);
  EXPECT_EQ((std::tuple{src->version, src->content_type, src->content_b64}),
            (std::tuple{2, std::optional<std::string>(), std::string("djI")}));
  EXPECT_FALSE(db().ReadValue([](Tx& tx) { return documents::GetSource(tx, "wks_b", "doc_1"); }));
}

TEST_P(DocumentsTest, ChunksReplaceTextsKeywordSearchHydrateAndDelete) {
  db().Write([](Tx& tx) {
    documents::Insert(tx, Doc("doc_1", "wks_a", "h1", 10));
    documents::Insert(tx, Doc("doc_2", "wks_b", "h2", 10));
    chunks::Replace(tx, "wks_a", "doc_1",
                    {Chunk("wks_a", "doc_1", 1, 0, "Resetting your password takes two minutes."),
                     Chunk("wks_a", "doc_1", 1, 1, "Invoices are sent on the first day of each month.")});
    chunks::Replace(tx, "wks_b", "doc_2", {Chunk("wks_b", "doc_2", 1, 0, "Password rules for workspace B.")});
  });
  // The texts for the keyword index's catch-up: this workspace's, in id order, after the id given.
  auto texts = db().ReadValue([](Tx& tx) { return chunks::TextsAfter(tx, "wks_a", 0, 100); });
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0].text, "Resetting your password takes two minutes.");
  EXPECT_LT(texts[0].id, texts[1].id);
  EXPECT_EQ(db().ReadValue([&](Tx& tx) { return chunks::TextsAfter(tx, "wks_a", texts[0].id, 100); }).size(), 1u);
  EXPECT_EQ(db().ReadValue([&](Tx& tx) { return chunks::TextsAfter(tx, "wks_a", 0, 1); }).size(), 1u);
  if (backend() == Backend::kPostgres) {
    // Keyword search is per workspace and ignores full-text operators in the input.
    auto hits = db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "password\" OR * NEAR(", 10); });
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].chunk.document_id, "doc_1");
    EXPECT_EQ(hits[0].title, "Title doc_1");
    EXPECT_GT(hits[0].score, 0);
    EXPECT_TRUE(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "  ::: ", 10); }).empty());
    // More matching words rank higher.
    auto ranked = db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "password invoices month", 10); });
    ASSERT_EQ(ranked.size(), 2u);
    EXPECT_EQ(ranked[0].chunk.ordinal, 1);
  } else {
    EXPECT_THROW(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "password", 10); }), std::logic_error);
  }

  auto embedded = db().ReadValue([](Tx& tx) { return chunks::EmbeddedAfter(tx, "wks_a", 0, 100); });
  ASSERT_EQ(embedded.size(), 2u);
  EXPECT_EQ(embedded[0].embedding_b64, "AAAA");
  const std::int64_t first = embedded[0].id;
  const std::int64_t b_chunk = db().ReadValue([](Tx& tx) { return chunks::MaxId(tx, "wks_b"); });
  // Hydrate never returns another workspace's chunk, even when asked for its id.
  auto hydrated = db().ReadValue([&](Tx& tx) { return chunks::Hydrate(tx, "wks_a", {first, b_chunk}); });
  ASSERT_EQ(hydrated.size(), 1u);
  EXPECT_EQ(hydrated[0].chunk.id, first);

  // A new version replaces the chunks: new ids, the old ones reported, the keyword index follows.
  auto old = db().WriteValue([](Tx& tx) {
    return chunks::Replace(tx, "wks_a", "doc_1", {Chunk("wks_a", "doc_1", 2, 0, "Billing questions go to finance.")});
  });
  EXPECT_EQ(old.size(), 2u);
  auto after_replace = db().ReadValue([](Tx& tx) { return chunks::TextsAfter(tx, "wks_a", 0, 100); });
  ASSERT_EQ(after_replace.size(), 1u);
  EXPECT_EQ(after_replace[0].text, "Billing questions go to finance.");
  if (backend() == Backend::kPostgres) {
    EXPECT_TRUE(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "password", 10); }).empty());
    EXPECT_EQ(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "billing", 10); }).size(), 1u);
  }
  EXPECT_GT(db().ReadValue([](Tx& tx) { return chunks::MaxId(tx, "wks_a"); }), b_chunk);

  auto deleted = db().WriteValue([](Tx& tx) { return documents::Delete(tx, "wks_a", "doc_1"); });
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->size(), 1u);
  EXPECT_TRUE(db().ReadValue([](Tx& tx) { return chunks::TextsAfter(tx, "wks_a", 0, 100); }).empty());
  if (backend() == Backend::kPostgres) {
    EXPECT_TRUE(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "billing", 10); }).empty());
    // Workspace B is untouched.
    EXPECT_EQ(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_b", "password", 10); }).size(), 1u);
  }
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return documents::Delete(tx, "wks_a", "doc_1"); }));
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return chunks::TextsAfter(tx, "wks_b", 0, 100); }).size(), 1u);
}

// Keyword search (PostgreSQL): chunks with every word first, then (only to fill up) chunks with
// some of them.
class KeywordTest : public DocumentsTest {
 protected:
  void SetUp() override {
    DocumentsTest::SetUp();
    if (IsSkipped()) return;
    db().Write([](Tx& tx) {
      documents::Insert(tx, Doc("doc_a", "wks_a", "ha", 10));
      documents::Insert(tx, Doc("doc_b", "wks_b", "hb", 10));
    });
  }

  // Replaces the workspace's one document's chunks with these texts (ordinal = position).
  void Chunks(const std::string& ws, const std::vector<std::string>& texts) {
    const std::string doc = ws == "wks_a" ? "doc_a" : "doc_b";
    std::vector<ChunkRecord> rows;
    for (std::size_t i = 0; i < texts.size(); ++i) rows.push_back(Chunk(ws, doc, 1, static_cast<int>(i), texts[i]));
    db().Write([&](Tx& tx) { chunks::Replace(tx, ws, doc, rows); });
  }

  std::vector<ChunkHit> Search(const std::string& ws, const std::string& query, int limit = 10) {
    return db().ReadValue([&](Tx& tx) { return chunks::Keyword(tx, ws, query, limit); });
  }

  static std::vector<int> Ordinals(const std::vector<ChunkHit>& hits) {
    std::vector<int> out;
    for (const auto& h : hits) out.push_back(h.chunk.ordinal);
    return out;
  }
};

TEST_P(KeywordTest, ChunksWithEveryWordRankAboveChunksWithSome) {
  // Chunk 0 says "refund" over and over, which an any-word ranking rewards (both backends rank
  // it above chunk 1 for "refund" alone); chunk 1 is the only one with both words.
  Chunks("wks_a", {"Refund refund refund: refund, refund and refund again.",
                   "Our policy on late fees, shipping, returns and then some words about each refund "
                   "and how the annual plan is billed to the customer over the year.",
                   "The annual plan renews every year.", "Nothing relevant here at all."});
  ASSERT_EQ(Ordinals(Search("wks_a", "refund")).front(), 0);
  auto hits = Search("wks_a", "annual refund");
  // Every chunk with some word is still found, after the one with both: no duplicates.
  EXPECT_EQ(Ordinals(hits), (std::vector<int>{1, 0, 2}));
  for (const auto& h : hits) EXPECT_GT(h.score, 0);
  // When enough chunks have every word, none with only some are returned.
  EXPECT_EQ(Ordinals(Search("wks_a", "annual refund", 1)), (std::vector<int>{1}));
  // A repeated word is one word.
  EXPECT_EQ(Ordinals(Search("wks_a", "annual refund annual REFUND")), Ordinals(hits));
}

TEST_P(KeywordTest, ChunksWithMoreOfTheWordsRankAboveChunksWithFewer) {
  Chunks("wks_a", {"Refund refund refund refund refund refund.",
                   "A refund of the annual fee, in a long sentence with many other words that dilute it.",
                   "The annual refund of the premium, explained at length with a lot of extra words around.",
                   "Nothing relevant."});
  EXPECT_EQ(Ordinals(Search("wks_a", "premium annual refund")), (std::vector<int>{2, 1, 0}));
  EXPECT_EQ(Ordinals(Search("wks_a", "premium annual refund", 2)), (std::vector<int>{2, 1}));
  // Beyond five words there are no levels between every word and any word; all are still found.
  auto long_query = Ordinals(Search("wks_a", "premium annual refund unicorn dragon wizard"));
  std::sort(long_query.begin(), long_query.end());
  EXPECT_EQ(long_query, (std::vector<int>{0, 1, 2}));
}

TEST_P(KeywordTest, ChunksWithSomeWordsAreFoundWhenNoneHasEvery) {
  Chunks("wks_a", {"Invoices are sent monthly.", "Passwords expire after ninety days.", "Unrelated text."});
  auto found = Ordinals(Search("wks_a", "invoices passwords unicorns"));
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<int>{0, 1}));
  EXPECT_EQ(Ordinals(Search("wks_a", "unicorns passwords")), (std::vector<int>{1}));
  EXPECT_TRUE(Search("wks_a", "unicorns").empty());
}

TEST_P(KeywordTest, OperatorCharactersAreSeparatorsOrPlainWords) {
  Chunks("wks_a", {"Refund policy: refunds near the end of the year.", "A text about or and near.", "The refund form.",
                   "Policy text."});
  // Each is an error or an operator in FTS5 or tsquery syntax; here they separate plain words
  // (or, as NEAR, OR, AND, NOT, are the words themselves), so the results equal those of the
  // plain words, scores included.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\"refund", "refund"},
      {"refund*", "refund"},
      {"-refund", "refund"},
      {"text:refund", "text refund"},
      {"(refund) & !policy | <->", "refund policy"},
      {"refund\" OR \"policy", "refund or policy"},
      {"NEAR(refund policy, 2)", "near refund policy 2"},
      {"refund NOT policy", "refund not policy"},
      {"^refund + {text}: 'policy'", "refund text policy"},
  };
  for (const auto& [raw, plain] : cases) {
    SCOPED_TRACE(raw);
    std::vector<ChunkHit> got;
    ASSERT_NO_THROW(got = Search("wks_a", raw));
    const auto want = Search("wks_a", plain);
    ASSERT_FALSE(want.empty());
    ASSERT_EQ(Ordinals(got), Ordinals(want));
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_DOUBLE_EQ(got[i].score, want[i].score);
  }
  // NOT is a word (or, on PostgreSQL, a stop word), not an operator excluding "policy".
  EXPECT_EQ(Ordinals(Search("wks_a", "refund NOT policy")).front(), 0);
  EXPECT_TRUE(Search("wks_a", "\" * - : ( ) ^ { } &|!").empty());
}

TEST_P(KeywordTest, AnotherWorkspacesChunksNeverAppear) {
  // Workspace B holds many better matches than A's two, so the global best are all B's.
  std::vector<std::string> b_texts(30, "Refund refund policy for workspace B, refund policy again.");
  Chunks("wks_b", b_texts);
  Chunks("wks_a", {"A long text in which the refund policy of workspace A is mentioned only once, among many "
                   "other words that dilute it a lot.",
                   "Workspace A only mentions a refund here."});
  for (int limit : {1, 2, 10, 100}) {
    SCOPED_TRACE(limit);
    auto hits = Search("wks_a", "refund policy", limit);
    ASSERT_EQ(hits.size(), static_cast<std::size_t>(std::min(limit, 2)));
    for (const auto& h : hits) EXPECT_EQ(h.chunk.workspace_id, "wks_a");
    EXPECT_EQ(hits[0].chunk.ordinal, 0);
    EXPECT_EQ(hits[0].title, "Title doc_a");
  }
  // And the other way round: B's search sees only B's chunks, enough of them to fill the limit.
  auto hits = Search("wks_b", "refund policy", 25);
  ASSERT_EQ(hits.size(), 25u);
  for (const auto& h : hits) EXPECT_EQ(h.chunk.workspace_id, "wks_b");
}

// PostgreSQL only: SQLite deployments rank keywords in memory (search/index/keyword_index_test.cpp).
INSTANTIATE_TEST_SUITE_P(Backends, KeywordTest, ::testing::Values(Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return std::string(BackendName(param.param));
                         });

INSTANTIATE_TEST_SUITE_P(Backends, DocumentsTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return std::string(BackendName(param.param));
                         });

// PostgreSQL hands out chunk ids at INSERT; the retriever's catch-up needs a workspace's ids to
// commit in increasing order, which chunks::Replace ensures by serialising the workspace's writers.
class ChunkWritersTest : public PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped()) return;
    Migrate(*db_);
    db_->Write([](Tx& tx) {
      workspaces::Insert(tx, {"wks_a", "A", "a", "free"});
      workspaces::Insert(tx, {"wks_b", "B", "b", "free"});
      documents::Insert(tx, Doc("doc_1", "wks_a", "h1", 10));
      documents::Insert(tx, Doc("doc_2", "wks_a", "h2", 10));
      documents::Insert(tx, Doc("doc_3", "wks_b", "h3", 10));
    });
  }

  // Writes one chunk of `doc` in `ws` on another thread while a transaction that wrote one chunk
  // of doc_1 (workspace A) stays open for up to `hold`. True when the other write committed
  // before that transaction did.
  bool CommitsWhileFirstWriterIsOpen(const std::string& ws, const std::string& doc, std::chrono::milliseconds hold) {
    std::atomic<bool> second_done{false};
    std::exception_ptr second_error;
    std::thread second;
    bool done_while_open = false;
    auto first = [&](Tx& tx) {
      chunks::Replace(tx, "wks_a", "doc_1", {Chunk("wks_a", "doc_1", 1, 0, "first writer")});
      second = std::thread([&] {
        try {
          db_->Write([&](Tx& tx2) { chunks::Replace(tx2, ws, doc, {Chunk(ws, doc, 1, 0, "second writer")}); });
        } catch (...) {
          second_error = std::current_exception();
        }
        second_done = true;
      });
      const auto deadline = std::chrono::steady_clock::now() + hold;
      while (!second_done && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      done_while_open = second_done;
    };
    try {
      db_->Write(first);
    } catch (...) {
      if (second.joinable()) second.join();
      throw;
    }
    second.join();
    if (second_error) std::rethrow_exception(second_error);
    return done_while_open;
  }
};

TEST_F(ChunkWritersTest, WritersOfOneWorkspaceCommitInIdOrder) {
  // Unserialised, the second writer commits within milliseconds while the first is still open;
  // serialised, it cannot commit before the first does, however long that takes.
  EXPECT_FALSE(CommitsWhileFirstWriterIsOpen("wks_a", "doc_2", std::chrono::milliseconds(500)));
  const auto ids = db_->ReadValue([](Tx& tx) { return chunks::EmbeddedAfter(tx, "wks_a", 0, 10); });
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0].document_id, "doc_1");
  EXPECT_EQ(ids[1].document_id, "doc_2");
}

TEST_F(ChunkWritersTest, WritersOfAnotherWorkspaceAreNotHeldUp) {
  EXPECT_TRUE(CommitsWhileFirstWriterIsOpen("wks_b", "doc_3", std::chrono::seconds(5)));
}

}  // namespace
}  // namespace studio::store::testing
