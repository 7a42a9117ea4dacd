#include "search/index/keyword_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "search/index/fts_tokenizer.hpp"

namespace studio::search {
namespace {

std::vector<std::string> Tokens(std::string_view text, TokenizeFor purpose = TokenizeFor::kDocument) {
  std::vector<std::string> out;
  Tokenize(text, purpose, [&](std::string_view t) { out.emplace_back(t); });
  return out;
}

std::vector<std::int64_t> Ids(const std::vector<Hit>& hits) {
  std::vector<std::int64_t> ids;
  for (const Hit& h : hits) ids.push_back(h.id);
  return ids;
}

TEST(FtsTokenizer, FoldsCaseDiacriticsAndStems) {
  EXPECT_EQ(Tokens("Refunds, REFUNDING and the refund!"),
            (std::vector<std::string>{"refund", "refund", "and", "the", "refund"}));
  EXPECT_EQ(Tokens("Café crème"), (std::vector<std::string>{"cafe", "creme"}));
  EXPECT_EQ(Tokens("x\"y OR z*"), (std::vector<std::string>{"x", "y", "or", "z"}));
  EXPECT_TRUE(Tokens("  ... --- !!!").empty());
}

TEST(FtsTokenizer, IsSafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<int> ok(16, 0);
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i)
        ok[t] += Tokens("Passwords are reset by email links") ==
                 std::vector<std::string>{"password", "ar", "reset", "by", "email", "link"};
    });
  }
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 200);
}

TEST(KeywordIndex, MoreQueryTermsFirstThenBm25) {
  KeywordIndex index;
  index.Add(1, "How to reset your password from the login page");
  index.Add(2, "Password rules: twelve characters at least. Password managers help. Password.");
  index.Add(3, "Shipping takes three days");
  index.Add(4, "Reset the router");
  // 1 has both terms; 2 has "password" three times, 4 has "reset" once.
  const auto hits = index.Search("reset password", 10);
  ASSERT_EQ(Ids(hits), (std::vector<std::int64_t>{1, 2, 4}));
  for (const Hit& h : hits) EXPECT_GT(h.score, 0);
  EXPECT_EQ(Ids(index.Search("reset password", 1)), (std::vector<std::int64_t>{1}));
  EXPECT_TRUE(index.Search("invoice", 10).empty());
  EXPECT_TRUE(index.Search("!!!", 10).empty());
  // Stemmed like the documents: "passwords" finds "password".
  EXPECT_EQ(Ids(index.Search("PASSWORDS", 10)).front(), 2);
}

// Beyond five terms only "every term" counts as a level; the rest rank by BM25 alone.
TEST(KeywordIndex, LongQueriesRankEveryTermThenBm25) {
  KeywordIndex index;
  index.Add(1, "alpha bravo charlie delta echo foxtrot");  // every term
  index.Add(2, "alpha bravo charlie");                     // three terms, alpha and bravo common
  index.Add(3, "foxtrot foxtrot foxtrot foxtrot");         // one rare term, four times
  for (std::int64_t id = 10; id < 20; ++id) index.Add(id, "alpha bravo zulu");
  // Six terms: every term first, then by BM25 alone (3 above 2, the common-word chunks last).
  const auto six = Ids(index.Search("alpha bravo charlie delta echo foxtrot", 3));
  EXPECT_EQ(six, (std::vector<std::int64_t>{1, 3, 2}));
  // Five terms: by how many of them a chunk has (2 has three, 10..19 two, 3 one).
  const auto five = Ids(index.Search("alpha bravo charlie delta foxtrot", 20));
  ASSERT_EQ(five.size(), 13u);
  EXPECT_EQ((std::vector<std::int64_t>(five.begin(), five.begin() + 2)), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(five.back(), 3);
}

// The score is FTS5's bm25() (negated): checked against the formula by hand for a one-term query.
TEST(KeywordIndex, ScoreIsBm25) {
  KeywordIndex index;
  index.Add(1, "apple banana cherry");             // 3 tokens
  index.Add(2, "apple apple banana cherry date");  // 5 tokens
  index.Add(3, "kiwi");
  index.Add(4, "kiwi lime");
  const double n = 4, df = 2, avg = (3 + 5 + 1 + 2) / 4.0;
  const double idf = std::log((n - df + 0.5) / (df + 0.5));
  auto bm25 = [&](double tf, double len) { return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len / avg)); };
  const auto hits = index.Search("apple", 10);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, 2);
  EXPECT_NEAR(hits[0].score, bm25(2, 5), 1e-5);
  EXPECT_NEAR(hits[1].score, bm25(1, 3), 1e-5);
  // A term in more than half of the rows gets FTS5's floor idf (1e-6), not a negative score.
  KeywordIndex common;
  common.Add(1, "the cat");
  common.Add(2, "the dog");
  common.Add(3, "a bird");
  const auto the = common.Search("the", 10);
  ASSERT_EQ(the.size(), 2u);
  EXPECT_GT(the[0].score, 0);
  EXPECT_LT(the[0].score, 1e-5);
}

TEST(KeywordIndex, RemoveAndCompactKeepTheRestIntact) {
  KeywordIndex index(/*compact_ratio=*/0.25);
  std::mt19937 rng(7);
  const std::vector<std::string> words{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"};
  for (std::int64_t id = 1; id <= 400; ++id) {
    std::string text;
    for (int w = 0; w < 12; ++w) text += words[rng() % words.size()] + " ";
    index.Add(id, text);
  }
  index.Add(5, "ignored: ids already present are kept as they are");
  EXPECT_EQ(index.size(), 400u);
  // A fresh index holding only the survivors must rank exactly like the compacted one.
  KeywordIndex fresh;
  rng.seed(7);
  for (std::int64_t id = 1; id <= 400; ++id) {
    std::string text;
    for (int w = 0; w < 12; ++w) text += words[rng() % words.size()] + " ";
    if (id % 3 != 0) fresh.Add(id, text);
  }
  for (std::int64_t id = 3; id <= 400; id += 3) index.Remove(id);
  index.Remove(100000);  // unknown: ignored
  EXPECT_EQ(index.size(), fresh.size());
  for (const char* query : {"alpha", "bravo charlie", "delta echo foxtrot golf"}) {
    const auto a = index.Search(query, 50);
    const auto b = fresh.Search(query, 50);
    ASSERT_EQ(Ids(a), Ids(b)) << query;
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i].score, b[i].score, 1e-5);
    for (const Hit& h : a) EXPECT_NE(h.id % 3, 0);
  }
  for (std::int64_t id = 1; id <= 400; ++id) index.Remove(id);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_TRUE(index.Search("alpha", 10).empty());
}

TEST(KeywordIndex, WatermarkOnlyMovesForward) {
  KeywordIndex index;
  EXPECT_EQ(index.Watermark(), 0);
  index.AdvanceWatermark(10);
  index.AdvanceWatermark(4);
  EXPECT_EQ(index.Watermark(), 10);
}

TEST(KeywordIndex, SearchesWhileAdding) {
  KeywordIndex index;
  std::thread writer([&] {
    for (std::int64_t id = 1; id <= 2000; ++id) index.Add(id, id % 2 == 0 ? "even refund" : "odd refund card");
  });
  std::size_t last = 0;
  for (int i = 0; i < 200; ++i) {
    const auto hits = index.Search("refund card", 5000);
    EXPECT_GE(hits.size(), last);  // only grows
    last = hits.size();
    for (std::size_t j = 1; j < hits.size(); ++j) {
      // Chunks with both terms (odd ids) come before those with one.
      if (hits[j].id % 2 == 1) {
        EXPECT_EQ(hits[j - 1].id % 2, 1);
      }
    }
  }
  writer.join();
  EXPECT_EQ(index.Search("refund card", 5000).size(), 2000u);
}

}  // namespace
}  // namespace studio::search
