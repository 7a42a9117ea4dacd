#include <gtest/gtest.h>

#include <string>

#include "ingest/extract/internal.hpp"

namespace studio::extract::detail {
namespace {

using namespace std::string_literals;

std::string Slice(const std::string& text, std::size_t begin, std::size_t end) {
  return text.substr(begin, end - begin);
}

TEST(CleanTextTest, LineEndingsControlsAndNfc) {
  // CRLF and CR become LF; NUL, BEL, ESC, DEL, a C1 control, a BOM and a soft hyphen go away;
  // "e" + COMBINING ACUTE becomes the single code point U+00E9.
  const std::string in = "caf\x65\xCC\x81\r\nline\x00two\x07\x1b\x7f\xC2\x85x\rthree\xEF\xBB\xBF hy\xC2\xADphen"s;
  EXPECT_EQ(CleanText(in, Whitespace::kCollapse), "caf\xC3\xA9\nlinetwo\nx\nthree hyphen");
}

TEST(CleanTextTest, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(CleanText("ok \xFF\xFE end", Whitespace::kCollapse), "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST(CleanTextTest, CollapsesWhitespaceAndBlankLines) {
  EXPECT_EQ(CleanText("  a \t  b\xC2\xA0\xC2\xA0 c  \n\n\n\n   d  \n\n", Whitespace::kCollapse), "a b c\n\nd");
}

TEST(CleanTextTest, PreserveKeepsIndentationButNotTrailingSpace) {
  EXPECT_EQ(CleanText("\n\nint main() {   \n\treturn  0;\n}\n", Whitespace::kPreserve),
            "int main() {\n\treturn  0;\n}");
}

TEST(CleanTextTest, InlineJoinsLines) { EXPECT_EQ(CleanInline("  Getting\n  started \t"), "Getting started"); }

TEST(TextBuilderTest, SectionsCoverTheTextAndFollowHeadingLevels) {
  TextBuilder b(1 << 20);
  b.Paragraph("Intro text.");
  b.Heading(1, "Install");
  b.Paragraph("Pick a platform.");
  b.Heading(2, "Linux");
  b.Paragraph("apt-get install studio");
  b.Heading(2, "macOS");
  b.Heading(1, "Use");
  b.Paragraph("Run it.");
  ExtractedDocument doc;
  b.Finish(doc);

  EXPECT_EQ(doc.text,
            "Intro text.\n\nInstall\n\nPick a platform.\n\nLinux\n\napt-get install studio\n\nmacOS\n\nUse\n\nRun it.");
  ASSERT_EQ(doc.sections.size(), 5u);
  EXPECT_EQ(doc.sections[0].heading_path, "");
  EXPECT_EQ(doc.sections[1].heading_path, "Install");
  EXPECT_EQ(doc.sections[2].heading_path, "Install > Linux");
  EXPECT_EQ(doc.sections[3].heading_path, "Install > macOS");
  EXPECT_EQ(doc.sections[4].heading_path, "Use");
  EXPECT_EQ(doc.sections.front().begin, 0u);
  EXPECT_EQ(doc.sections.back().end, doc.text.size());
  for (std::size_t i = 1; i < doc.sections.size(); ++i) EXPECT_EQ(doc.sections[i - 1].end, doc.sections[i].begin);
  EXPECT_EQ(Slice(doc.text, doc.sections[2].begin, doc.sections[2].end), "Linux\n\napt-get install studio\n\n");
}

TEST(TextBuilderTest, GroupsArePackedLinesAndPagesAreSpans) {
  TextBuilder b(1 << 20);
  b.BeginPage(1);
  b.Paragraph("Before");
  const int list = b.NewGroup();
  b.Paragraph("one", list);
  b.Paragraph("two", list);
  b.EndPage();
  b.BeginPage(2);
  b.EndPage();  // a page without text
  b.BeginPage(3);
  b.Paragraph("After");
  b.EndPage();
  ExtractedDocument doc;
  b.Finish(doc);

  EXPECT_EQ(doc.text, "Before\n\none\ntwo\n\nAfter");
  ASSERT_EQ(doc.pages.size(), 3u);
  EXPECT_EQ(Slice(doc.text, doc.pages[0].begin, doc.pages[0].end), "Before\n\none\ntwo");
  EXPECT_EQ(doc.pages[1].begin, doc.pages[1].end);
  EXPECT_EQ(Slice(doc.text, doc.pages[2].begin, doc.pages[2].end), "After");
  EXPECT_EQ(doc.pages[2].page, 3);
}

TEST(TextBuilderTest, EmptyAndOversizedText) {
  TextBuilder empty(100);
  empty.Paragraph(" \n\t\x01 ");
  ExtractedDocument doc;
  try {
    empty.Finish(doc);
    FAIL() << "expected EMPTY_DOCUMENT";
  } catch (const ExtractError& e) {
    EXPECT_EQ(e.code(), "EMPTY_DOCUMENT");
    EXPECT_TRUE(e.permanent());
  }

  TextBuilder small(10);
  small.Paragraph("12345");
  try {
    small.Paragraph("67890");
    FAIL() << "expected TEXT_TOO_LARGE";
  } catch (const ExtractError& e) {
    EXPECT_EQ(e.code(), "TEXT_TOO_LARGE");
  }
}

TEST(AddPlainTextTest, SplitsParagraphsOnBlankLines) {
  TextBuilder b(1 << 20);
  AddPlainText(b, "first line\r\nsame paragraph\r\n \t\r\nsecond\rthird\r\r\r\rfourth\n");
  ExtractedDocument doc;
  b.Finish(doc);
  EXPECT_EQ(doc.text, "first line\nsame paragraph\n\nsecond\nthird\n\nfourth");
}

}  // namespace
}  // namespace studio::extract::detail
