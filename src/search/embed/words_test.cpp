#include "search/embed/words.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace studio::search {
namespace {

using Words = std::vector<std::string>;

TEST(SplitWords, LowerCasesAndSplitsOnPunctuationAndSpace) {
  EXPECT_EQ(SplitWords("How do I reset my Password?"), (Words{"how", "do", "i", "reset", "my", "password"}));
  EXPECT_EQ(SplitWords("  tabs\tand\nnewlines,commas;  "), (Words{"tabs", "and", "newlines", "commas"}));
  EXPECT_EQ(SplitWords("version 2 of IPv6"), (Words{"version", "2", "of", "ipv6"}));
  EXPECT_EQ(SplitWords(""), Words{});
  EXPECT_EQ(SplitWords("?!... --- ''"), Words{});
}

TEST(SplitWords, HyphenOrApostropheJoinsOnlyBetweenWordCharacters) {
  EXPECT_EQ(SplitWords("state-of-the-art e-mail"), (Words{"state-of-the-art", "e-mail"}));
  EXPECT_EQ(SplitWords("well\u2011known"), Words{"well-known"});  // non-breaking hyphen
  EXPECT_EQ(SplitWords("-lead trail- a--b"), (Words{"lead", "trail", "a", "b"}));
  EXPECT_EQ(SplitWords("'quoted'"), Words{"quoted"});
}

TEST(SplitWords, ResolvesEnglishClitics) {
  EXPECT_EQ(SplitWords("Don't"), (Words{"do", "not"}));
  EXPECT_EQ(SplitWords("doesn\u2019t"), (Words{"does", "not"}));  // typographic apostrophe
  EXPECT_EQ(SplitWords("can't won't shan't"), (Words{"can", "not", "will", "not", "shall", "not"}));
  EXPECT_EQ(SplitWords("John's they're we'll I've she'd I'm"), (Words{"john", "they", "we", "i", "she", "i"}));
  EXPECT_EQ(SplitWords("O'Neill rock'n'roll"), (Words{"o", "neill", "rock", "n", "roll"}));
}

TEST(SplitWords, FoldsAccentsAndCaseBeyondAscii) {
  EXPECT_EQ(SplitWords("Café NAÏVE Ångström"), (Words{"cafe", "naive", "angstrom"}));
  EXPECT_EQ(SplitWords("cafe\u0301"), Words{"cafe"});  // decomposed accent
  EXPECT_EQ(SplitWords("ΑΘΗΝΑ straße"), (Words{"αθηνα", "straße"}));
  EXPECT_EQ(SplitWords("日本語のテキスト"), Words{"日本語のテキスト"});  // no spaces: one word (then OOV)
}

TEST(SplitWords, InvalidUtf8SeparatesWords) {
  EXPECT_EQ(SplitWords("abc\xff\xfe"
                       "def"),
            (Words{"abc", "def"}));
  EXPECT_EQ(SplitWords("abc\xc3"), Words{"abc"});  // truncated sequence at the end
}

}  // namespace
}  // namespace studio::search
