// Documents, chunks and the keyword index on both backends.

#include "store/documents_repo.hpp"

#include <string>
#include <tuple>
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

TEST_P(DocumentsTest, ChunksReplaceKeywordSearchHydrateAndDelete) {
  db().Write([](Tx& tx) {
    documents::Insert(tx, Doc("doc_1", "wks_a", "h1", 10));
    documents::Insert(tx, Doc("doc_2", "wks_b", "h2", 10));
    chunks::Replace(tx, "wks_a", "doc_1",
                    {Chunk("wks_a", "doc_1", 1, 0, "Resetting your password takes two minutes."),
                     Chunk("wks_a", "doc_1", 1, 1, "Invoices are sent on the first day of each month.")});
    chunks::Replace(tx, "wks_b", "doc_2", {Chunk("wks_b", "doc_2", 1, 0, "Password rules for workspace B.")});
  });
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
  EXPECT_TRUE(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "password", 10); }).empty());
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "billing", 10); }).size(), 1u);
  EXPECT_GT(db().ReadValue([](Tx& tx) { return chunks::MaxId(tx, "wks_a"); }), b_chunk);

  auto deleted = db().WriteValue([](Tx& tx) { return documents::Delete(tx, "wks_a", "doc_1"); });
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->size(), 1u);
  EXPECT_TRUE(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_a", "billing", 10); }).empty());
  EXPECT_FALSE(db().WriteValue([](Tx& tx) { return documents::Delete(tx, "wks_a", "doc_1"); }));
  // Workspace B is untouched.
  EXPECT_EQ(db().ReadValue([](Tx& tx) { return chunks::Keyword(tx, "wks_b", "password", 10); }).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, DocumentsTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return std::string(BackendName(param.param));
                         });

}  // namespace
}  // namespace studio::store::testing
