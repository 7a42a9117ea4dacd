#include "search/retriever/snippet.hpp"

#include "search/retriever/retriever.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace studio::search {
namespace {

// Strict UTF-8 check (no overlongs, surrogates or truncated sequences).
bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string Filler(int words) {
  std::string out;
  for (int i = 0; i < words; ++i) out += "lorem ipsum dolor sit amet ";
  return out;
}

std::vector<std::string> Highlighted(const Snippet& s) {
  std::vector<std::string> out;
  for (const Highlight& h : s.highlights) out.push_back(s.text.substr(h.offset, h.length));
  return out;
}

TEST(QueryTerms, DropStopWordsShortWordsAndRepeats) {
  EXPECT_EQ(QueryTerms("How do I reset my Password? password RESET, x 42"),
            (std::vector<std::string>{"reset", "password", "42"}));
  EXPECT_TRUE(QueryTerms("the of and ?!").empty());
  EXPECT_EQ(QueryTerms("caf\xc3\xa9 \xe4\xb8\xad"), (std::vector<std::string>{"caf\xc3\xa9", "\xe4\xb8\xad"}));
}

TEST(Snippet, ShortTextIsShownWholeWithWhitespaceCollapsed) {
  const Snippet s = MakeSnippet("Reset your\n\n  password   here.", "password");
  EXPECT_EQ(s.text, "Reset your password here.");
  EXPECT_EQ(Highlighted(s), std::vector<std::string>{"password"});
  EXPECT_EQ(s.highlights[0].offset, 11u);
}

TEST(Snippet, WindowMovesToTheQueryWordsInALongText) {
  const std::string text = Filler(30) + "The warranty covers parts and labour for two years. " + Filler(30);
  const Snippet s = MakeSnippet(text, "what does the warranty cover", 300);
  EXPECT_NE(s.text.find("warranty"), std::string::npos);
  EXPECT_NE(s.text.find("covers"), std::string::npos);
  EXPECT_TRUE(s.text.starts_with("\u2026"));
  EXPECT_TRUE(s.text.ends_with("\u2026"));
  EXPECT_LE(s.text.size(), 300u + 2 * 3);
  EXPECT_GE(s.text.size(), 250u);
  EXPECT_EQ(Highlighted(s), (std::vector<std::string>{"warranty", "covers"}));
  // Cuts fall on word boundaries: the text after the ellipsis starts a word.
  const std::string body = s.text.substr(3, s.text.size() - 6);
  EXPECT_NE(text.find(body), std::string::npos);
  EXPECT_EQ(text[text.find(body) - 1], ' ');
}

TEST(Snippet, PrefersTheWindowWithMoreDistinctTerms) {
  const std::string text =
      "billing " + Filler(20) + "billing billing " + Filler(20) + "billing address change " + Filler(20);
  const Snippet s = MakeSnippet(text, "change billing address", 120);
  EXPECT_NE(s.text.find("billing address change"), std::string::npos) << s.text;
}

TEST(Snippet, NoMatchShowsTheStart) {
  const std::string text = "First words here. " + Filler(40);
  const Snippet s = MakeSnippet(text, "zebra", 100);
  EXPECT_TRUE(s.text.starts_with("First words here."));
  EXPECT_TRUE(s.text.ends_with("\u2026"));
  EXPECT_TRUE(s.highlights.empty());
}

TEST(Snippet, MatchesSimpleInflections) {
  const Snippet s = MakeSnippet("Passwords and the policies about resetting them.", "password policy reset");
  EXPECT_EQ(Highlighted(s), (std::vector<std::string>{"Passwords", "policies", "resetting"}));
}

TEST(Snippet, NeverCutsInsideAUtf8Sequence) {
  // One long "word" of 3-byte characters, and one of 2-byte characters: no boundary to snap to.
  std::string cjk;
  for (int i = 0; i < 400; ++i) cjk += "\xe4\xb8\xad";  // 中
  cjk += "\xe6\x96\x87";                                // 文
  for (int i = 0; i < 400; ++i) cjk += "\xe4\xb8\xad";
  for (std::size_t width : {100u, 101u, 102u, 300u}) {
    const Snippet s = MakeSnippet(cjk, "\xe4\xb8\xad\xe6\x96\x87", width);
    EXPECT_TRUE(IsValidUtf8(s.text)) << width;
    EXPECT_LE(s.text.size(), width + 6);
  }
  std::string latin;
  for (int i = 0; i < 500; ++i) latin += "\xc3\xa9";  // é
  for (std::size_t width : {99u, 100u}) EXPECT_TRUE(IsValidUtf8(MakeSnippet(latin, "x", width).text));
  // Invalid input stays bounded and does not crash.
  const std::string junk(700, '\x80');
  EXPECT_LE(MakeSnippet(junk, "junk", 300).text.size(), 310u);
}

TEST(Snippet, EmptyText) {
  const Snippet s = MakeSnippet("", "anything");
  EXPECT_EQ(s.text, "");
  EXPECT_TRUE(s.highlights.empty());
}

}  // namespace
}  // namespace studio::search

namespace studio::search {
namespace {

TEST(KeywordQuery, DropsStopWordsWhenOtherWordsRemain) {
  EXPECT_EQ(KeywordQuery("How do I reset my password?"), "reset password");
  EXPECT_EQ(KeywordQuery("the price of the price"), "price");
  // Nothing but stop words: the query as it was, so it still finds what it can.
  EXPECT_EQ(KeywordQuery("to be or not to be"), "to be or not to be");
}

}  // namespace
}  // namespace studio::search
