#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/extract/extract.hpp"
#include "ingest/extract/test_files.hpp"

namespace studio::extract {
namespace {

using testing::ErrorCode;
using testing::TempDir;

class MarkdownTest : public ::testing::Test {
 protected:
  ExtractedDocument ExtractMarkdown(std::string_view markdown) {
    return Extract(dir_.Write("doc.md", markdown), Format::kMarkdown, ExtractLimits{});
  }
  TempDir dir_;
};

TEST_F(MarkdownTest, HeadingsBecomeSectionsAndMarkupIsDropped) {
  const auto doc = ExtractMarkdown(
      "# Studio Guide\n"
      "\n"
      "Intro with *emphasis*, `code` and a [link](https://example.com/x)\n"
      "that wraps.  \n"
      "Hard break before this.\n"
      "\n"
      "## Install\n"
      "\n"
      "- first item\n"
      "- second **item**\n"
      "  - nested item\n"
      "\n"
      "### Linux\n"
      "\n"
      "```sh\n"
      "apt-get install studio\n"
      "  --yes\n"
      "```\n"
      "\n"
      "> Quoted Grüße — naïve café\n"
      "\n"
      "<div class=\"note\"><p>Raw <b>HTML</b> block</p><script>x()</script></div>\n"
      "\n"
      "---\n"
      "\n"
      "## Use\n"
      "\n"
      "![alt text](image.png) Run it.\n");

  EXPECT_EQ(doc.format, Format::kMarkdown);
  EXPECT_EQ(doc.text,
            "Studio Guide\n\nIntro with emphasis, code and a link that wraps.\nHard break before this.\n\n"
            "Install\n\nfirst item\nsecond item\nnested item\n\nLinux\n\napt-get install studio\n  --yes\n\n"
            "Quoted Grüße — naïve café\n\nRaw HTML block\n\nUse\n\nalt text Run it.");
  std::vector<std::string> paths;
  for (const auto& s : doc.sections) paths.push_back(s.heading_path);
  EXPECT_EQ(paths, (std::vector<std::string>{"Studio Guide", "Studio Guide > Install", "Studio Guide > Install > Linux",
                                             "Studio Guide > Use"}));
  EXPECT_EQ(doc.title, "Studio Guide");
  EXPECT_EQ(doc.detected_encoding, "UTF-8");
  const Section& linux = doc.sections[2];
  EXPECT_EQ(doc.text.substr(linux.begin, 5), "Linux");
  EXPECT_EQ(doc.text.substr(linux.end - 2, 2), "\n\n");
}

TEST_F(MarkdownTest, FrontMatterIsMetadata) {
  const auto doc = ExtractMarkdown(
      "---\n"
      "title: \"Release Notes\"\n"
      "author: Jane Doe\n"
      "date: 2024-05-06\n"
      "lang: fr\n"
      "tags: [a, b]\n"
      "---\n"
      "## Version 2\n"
      "\n"
      "Faster.\n");
  EXPECT_EQ(doc.text, "Version 2\n\nFaster.");
  EXPECT_EQ(doc.title, "Release Notes");
  EXPECT_EQ(doc.author, "Jane Doe");
  EXPECT_EQ(doc.created, "2024-05-06");
  EXPECT_EQ(doc.language, "fr");
}

TEST_F(MarkdownTest, Latin1MarkdownIsDecoded) {
  const auto doc = ExtractMarkdown(
      "# \xDC"
      "bersicht\n\nGr\xFC\xDF"
      "e aus M\xFCnchen! Die Stra\xDF"
      "e ist sch\xF6n, das Caf\xE9 hat ge\xF6"
      "ffnet und der B\xE4"
      "cker verkauft Br\xF6tchen.\n");
  EXPECT_EQ(doc.title, "Übersicht");
  EXPECT_EQ(doc.text,
            "Übersicht\n\nGrüße aus München! Die Straße ist schön, das Café hat geöffnet und der Bäcker "
            "verkauft Brötchen.");
}

TEST_F(MarkdownTest, DeepNestingIsHandled) {
  const auto doc = ExtractMarkdown(std::string(5000, '>') + " deep quote\n");
  EXPECT_EQ(doc.text, "deep quote");
}

TEST_F(MarkdownTest, OnlyMarkupIsEmpty) {
  EXPECT_EQ(ErrorCode([&] { ExtractMarkdown("---\n\n***\n\n<!-- comment -->\n"); }), "EMPTY_DOCUMENT");
}

}  // namespace
}  // namespace studio::extract
