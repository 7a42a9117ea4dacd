#include <gtest/gtest.h>

#include <string>

#include "ingest/extract/extract.hpp"
#include "ingest/extract/test_files.hpp"

namespace studio::extract {
namespace {

using testing::ErrorCode;
using testing::PdfSpec;
using testing::TempDir;

std::string Slice(const std::string& text, const PageSpan& span) {
  return text.substr(span.begin, span.end - span.begin);
}

class PdfTest : public ::testing::Test {
 protected:
  std::string MakePdf(const PdfSpec& spec, const std::string& name = "doc.pdf") {
    std::string path = dir_.Path(name);
    testing::WritePdf(path, spec);
    return path;
  }
  TempDir dir_;
};

TEST_F(PdfTest, PagesTextAndMetadata) {
  PdfSpec spec;
  spec.pages = {{"Grüße — naïve café", "Second line of page one"}, {}, {"Page three says hello"}};
  spec.title = "Quarterly Report Ü";
  spec.author = "Jane Doe";
  spec.created = "2024-01-02T03:04:05Z";
  spec.modified = "2024-02-03T04:05:06Z";
  const auto doc = Extract(MakePdf(spec), Format::kPdf, ExtractLimits{});

  EXPECT_EQ(doc.format, Format::kPdf);
  EXPECT_EQ(doc.page_count, 3);
  EXPECT_EQ(doc.title, "Quarterly Report Ü");
  EXPECT_EQ(doc.author, "Jane Doe");
  EXPECT_EQ(doc.created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(doc.modified, "2024-02-03T04:05:06Z");

  ASSERT_EQ(doc.pages.size(), 3u);
  EXPECT_EQ(doc.pages[0].page, 1);
  EXPECT_EQ(Slice(doc.text, doc.pages[0]), "Grüße — naïve café\nSecond line of page one");
  EXPECT_EQ(doc.pages[1].begin, doc.pages[1].end);  // the empty page
  EXPECT_EQ(Slice(doc.text, doc.pages[2]), "Page three says hello");
  EXPECT_EQ(doc.pages[2].page, 3);
  EXPECT_EQ(doc.text, "Grüße — naïve café\nSecond line of page one\n\nPage three says hello");
  ASSERT_EQ(doc.sections.size(), 1u);
  EXPECT_EQ(doc.sections[0].end, doc.text.size());
}

TEST_F(PdfTest, TooManyPagesIsRefusedBeforeExtraction) {
  PdfSpec spec;
  spec.pages = {{"1"}, {"2"}, {"3"}, {"4"}, {"5"}};
  ExtractLimits limits;
  limits.max_pages = 4;
  EXPECT_EQ(ErrorCode([&] { Extract(MakePdf(spec), Format::kPdf, limits); }), "TOO_MANY_PAGES");
  limits.max_pages = 5;
  EXPECT_EQ(Extract(MakePdf(spec), Format::kPdf, limits).page_count, 5);
}

TEST_F(PdfTest, EncryptedPdfIsReported) {
  try {
    Extract(dir_.Write("locked.pdf", testing::EncryptedPdf()), Format::kPdf, ExtractLimits{});
    FAIL() << "expected ENCRYPTED_PDF";
  } catch (const ExtractError& e) {
    EXPECT_EQ(e.code(), "ENCRYPTED_PDF");
    EXPECT_TRUE(e.permanent());
  }
}

TEST_F(PdfTest, TruncatedAndGarbagePdfsAreMalformed) {
  PdfSpec spec;
  spec.pages = {{"First page"}, {"Second page"}};
  const std::string whole = testing::ReadFile(MakePdf(spec));
  const std::string half = dir_.Write("half.pdf", whole.substr(0, whole.size() / 2));
  EXPECT_EQ(ErrorCode([&] { Extract(half, Format::kPdf, ExtractLimits{}); }), "MALFORMED_PDF");
  const std::string garbage = dir_.Write("garbage.pdf", "%PDF-1.7\nthis is not really a PDF at all\n");
  EXPECT_EQ(ErrorCode([&] { Extract(garbage, Format::kPdf, ExtractLimits{}); }), "MALFORMED_PDF");
}

TEST_F(PdfTest, PdfWithoutTextIsEmpty) {
  PdfSpec spec;
  spec.pages = {{}, {}};  // only drawings
  EXPECT_EQ(ErrorCode([&] { Extract(MakePdf(spec), Format::kPdf, ExtractLimits{}); }), "EMPTY_DOCUMENT");
}

TEST_F(PdfTest, PdfNamedTxtIsDetectedAndExtracted) {
  PdfSpec spec;
  spec.pages = {{"Really a PDF"}};
  const std::string path = MakePdf(spec, "misnamed.txt");
  const Format format = DetectFormat(path, "misnamed.txt", "text/plain");
  ASSERT_EQ(format, Format::kPdf);
  EXPECT_EQ(Extract(path, format, ExtractLimits{}).text, "Really a PDF");
}

}  // namespace
}  // namespace studio::extract
