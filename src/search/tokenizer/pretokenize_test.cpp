#include "search/tokenizer/pretokenize.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "search/tokenizer/fixture_cases.hpp"

namespace studio::search::detail {
namespace {

std::vector<std::string> Split(std::string_view text) {
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t end = NextPieceEnd(text, i);
    EXPECT_GT(end, i);
    EXPECT_LE(end, text.size());
    if (end <= i || end > text.size()) break;
    pieces.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return pieces;
}

using Pieces = std::vector<std::string>;

// No rank file needed: the fixture records gpt-tokenizer's own regex matches.
TEST(Pretokenize, MatchesReferenceSplitOnEveryFixtureCase) {
  const auto& cases = test_support::Cl100kCases();
  ASSERT_GT(cases.size(), 400u);
  for (const auto& c : cases) EXPECT_EQ(Split(c.text), c.pieces) << c.name;
}

TEST(Pretokenize, Contractions) {
  EXPECT_EQ(Split("DON'T"), (Pieces{"DON", "'T"}));
  EXPECT_EQ(Split("we'LL"), (Pieces{"we", "'LL"}));
  EXPECT_EQ(Split("'sam"), (Pieces{"'s", "am"}));  // tiktoken's known quirk
  EXPECT_EQ(Split("O'Neil"), (Pieces{"O", "'Neil"}));
  EXPECT_EQ(Split("'"), (Pieces{"'"}));
}

TEST(Pretokenize, LettersTakeOneLeadingNonLetter) {
  EXPECT_EQ(Split("hello world"), (Pieces{"hello", " world"}));
  EXPECT_EQ(Split("a\tb"), (Pieces{"a", "\tb"}));
  EXPECT_EQ(Split("(word)"), (Pieces{"(word", ")"}));
  EXPECT_EQ(Split("a\nb"), (Pieces{"a", "\n", "b"}));  // never a newline
  EXPECT_EQ(Split("1x"), (Pieces{"1", "x"}));          // never a digit
}

TEST(Pretokenize, NumbersInGroupsOfThree) {
  EXPECT_EQ(Split("1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(Split(" 42"), (Pieces{" ", "42"}));
}

TEST(Pretokenize, PunctuationTakesOneSpaceAndTrailingNewlines) {
  EXPECT_EQ(Split("a ...\n\nb"), (Pieces{"a", " ...\n\n", "b"}));
  EXPECT_EQ(Split("x  !!"), (Pieces{"x", " ", " !!"}));
}

TEST(Pretokenize, Whitespace) {
  EXPECT_EQ(Split("a   b"), (Pieces{"a", "  ", " b"}));        // \s+(?!\S) leaves a space for the word
  EXPECT_EQ(Split("a \n\n b"), (Pieces{"a", " \n\n", " b"}));  // \s*[\r\n] up to the last newline
  EXPECT_EQ(Split("a  "), (Pieces{"a", "  "}));                // \s+$
  EXPECT_EQ(Split("a\n  "), (Pieces{"a", "\n  "}));            // \s+$ (the older pattern split it)
  EXPECT_EQ(Split(" "), (Pieces{" "}));
  EXPECT_EQ(Split("a \u3000b"), (Pieces{"a", " ", "\u3000b"}));
}

TEST(Pretokenize, NelIsWhitespaceAsInTiktoken) {
  // U+0085 is White_Space (tiktoken, Rust \s); JavaScript's \s would not take it.
  EXPECT_EQ(Split("a\u0085\u0085b"), (Pieces{"a", "\u0085", "\u0085b"}));
}

TEST(Pretokenize, InvalidUtf8BytesAreSingleOtherCharacters) {
  EXPECT_EQ(Split("\xff\xfe"), (Pieces{"\xff\xfe"}));
  EXPECT_EQ(Split("\xffword"), (Pieces{"\xffword"}));
  EXPECT_EQ(Split("ab\xc3"), (Pieces{"ab", "\xc3"}));    // truncated sequence at the end
  EXPECT_EQ(Split("\xe4\xb8x"), (Pieces{"\xe4\xb8x"}));  // truncated 3-byte sequence, then a letter
}

TEST(Pretokenize, PiecesEndOnCodePointBoundaries) {
  const std::string text = "日本語 😀😀 x\u0301y";
  for (const auto& piece : Split(text)) {
    ASSERT_FALSE(piece.empty());
    EXPECT_NE(static_cast<unsigned char>(piece[0]) & 0xC0, 0x80) << piece;
  }
}

}  // namespace
}  // namespace studio::search::detail
