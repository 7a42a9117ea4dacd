#include "ingest/chunk/text_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/chunk/strategies.hpp"

namespace studio::chunk::detail {
namespace {

std::vector<std::string> Texts(std::string_view text, const std::vector<Range>& ranges) {
  std::vector<std::string> out;
  out.reserve(ranges.size());
  for (const auto& r : ranges) out.emplace_back(text.substr(r.begin, r.end - r.begin));
  return out;
}

using Strings = std::vector<std::string>;

TEST(TextUtil, CodePointBoundaries) {
  const std::string text = "a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80z";  // a é 中 😀 z
  std::vector<std::size_t> boundaries;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (IsCodePointBoundary(text, i)) boundaries.push_back(i);
  }
  EXPECT_EQ(boundaries, (std::vector<std::size_t>{0, 1, 3, 6, 10, 11}));
  // A stray continuation byte is a character of its own, so both sides of it are boundaries.
  const std::string stray = "a\x80z";
  EXPECT_TRUE(IsCodePointBoundary(stray, 1));
  EXPECT_TRUE(IsCodePointBoundary(stray, 2));
}

TEST(TextUtil, TrimUsesUnicodeWhitespace) {
  const std::string text = "\u3000 \t\nhello world\u00a0\n";
  const Range r = Trim(text, {0, text.size()});
  EXPECT_EQ(text.substr(r.begin, r.end - r.begin), "hello world");
  EXPECT_TRUE(IsBlank(" \n\u2003\t", {0, 6}));
  EXPECT_FALSE(IsBlank(" x ", {0, 3}));
  const Range blank = Trim("   ", {0, 3});
  EXPECT_EQ(blank.begin, blank.end);
}

TEST(TextUtil, RegionsCutAtEveryOffset) {
  EXPECT_EQ(Regions(10, {4, 7, 4, 0}), (std::vector<Range>{{0, 4}, {4, 7}, {7, 10}}));
  EXPECT_EQ(Regions(10, {}), (std::vector<Range>{{0, 10}}));
  EXPECT_EQ(Regions(0, {}), (std::vector<Range>{}));
}

TEST(TextUtil, ParagraphsSplitOnBlankLines) {
  const std::string text =
      "  First para\nstill first.\n\nSecond.\r\n\r\nThird\n \t \nFourth\fFifth\u2029Sixth\n\n\n   \n";
  EXPECT_EQ(Texts(text, Paragraphs(text, {0, text.size()})),
            (Strings{"First para\nstill first.", "Second.", "Third", "Fourth", "Fifth", "Sixth"}));
  // A single CR LF is one line break, not a blank line.
  const std::string crlf = "one\r\ntwo";
  EXPECT_EQ(Texts(crlf, Paragraphs(crlf, {0, crlf.size()})), (Strings{"one\r\ntwo"}));
  EXPECT_TRUE(Paragraphs(" \n\n \n", {0, 5}).empty());
}

TEST(TextUtil, SentencesFromIcu) {
  const std::string text = "Mr. Smith went home. He slept.\nThen he woke up! Did he? 日本語です。次の文。";
  EXPECT_EQ(Texts(text, Sentences(text, {0, text.size()})),
            (Strings{"Mr. Smith went home.", "He slept.", "Then he woke up!", "Did he?", "日本語です。", "次の文。"}));
}

}  // namespace
}  // namespace studio::chunk::detail
