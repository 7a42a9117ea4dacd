#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "ingest/extract/extract.hpp"
#include "ingest/extract/test_files.hpp"

namespace studio::extract {
namespace {

using namespace std::string_literals;
using testing::TempDir;

class DetectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WritePdf(dir_.Path("real.pdf"), testing::PdfSpec{{{"Hello PDF"}}, "", "", "", ""});
    pdf_ = testing::ReadFile(dir_.Path("real.pdf"));
    testing::WriteZip(dir_.Path("real.docx"), testing::DocxParts(testing::Para("Hello DOCX")));
    docx_ = testing::ReadFile(dir_.Path("real.docx"));
  }

  Format File(std::string_view bytes, std::string_view name, std::string_view type = "") {
    return DetectFormat(dir_.Write("upload", bytes), name, type);
  }

  TempDir dir_;
  std::string pdf_;
  std::string docx_;
};

TEST_F(DetectTest, BinaryFormatsByContent) {
  EXPECT_EQ(File(pdf_, "report.pdf", "application/pdf"), Format::kPdf);
  EXPECT_EQ(File(docx_, "letter.docx"), Format::kDocx);
  // The content wins over a wrong name or type.
  EXPECT_EQ(File(pdf_, "notes.txt", "text/plain"), Format::kPdf);
  EXPECT_EQ(File(docx_, "notes.md", "text/markdown"), Format::kDocx);
  EXPECT_EQ(File(pdf_, "no-extension"), Format::kPdf);
  // Poppler accepts a header after some junk, and so does detection.
  EXPECT_EQ(File("X-Junk: mail header\r\n\r\n" + pdf_, "upload"), Format::kPdf);
}

TEST_F(DetectTest, TextFamilyByExtensionThenContentType) {
  const std::string text = "Just some words.\n";
  EXPECT_EQ(File(text, "readme.md"), Format::kMarkdown);
  EXPECT_EQ(File(text, "README.MARKDOWN"), Format::kMarkdown);
  EXPECT_EQ(File(text, "page.htm"), Format::kHtml);
  EXPECT_EQ(File(text, "notes.txt"), Format::kText);
  EXPECT_EQ(File(text, "upload", "text/markdown; charset=utf-8"), Format::kMarkdown);
  EXPECT_EQ(File(text, "upload", "text/html"), Format::kHtml);
  EXPECT_EQ(File(text, "upload"), Format::kText);
  // A text file named .pdf is text; HTML content with no useful name or type is HTML.
  EXPECT_EQ(File(text, "fake.pdf", "application/pdf"), Format::kText);
  EXPECT_EQ(File("<!DOCTYPE html><html><body><p>Hi</p></body></html>", "fake.pdf"), Format::kHtml);
  EXPECT_EQ(File("Every PDF starts with %PDF-1.7 and a binary comment.\n", "about-pdf.md"), Format::kMarkdown);
  // Non-ASCII and UTF-16 text is still text.
  EXPECT_EQ(File("Gr\xFC\xDF"
                 "e aus M\xFCnchen\n",
                 "latin1.txt"),
            Format::kText);
  EXPECT_EQ(File("\xFF\xFEh\0i\0\n\0"s, "utf16.txt"), Format::kText);
  // Plain text that libmagic's weaker rules take for something else is still text: anything that
  // starts with "NP" is an "HP-GL plotter file" to it (Debian's nproc(1) page, an NPS report).
  EXPECT_EQ(File("NPS survey: customers rate the support team highly.\n", "survey.txt"), Format::kText);
  EXPECT_EQ(File("NPROC(1)  User Commands\n\nNAME\n  nproc - print the number of processing units\n", "upload"),
            Format::kText);
}

TEST_F(DetectTest, EmptyFileGoesByName) {
  EXPECT_EQ(File("", "empty.md"), Format::kMarkdown);
  EXPECT_EQ(File("", "empty.pdf"), Format::kText);
}

TEST_F(DetectTest, UnsupportedBinaryIs415) {
  const std::string png = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0"s;
  try {
    File(png, "picture.pdf", "application/pdf");
    FAIL() << "expected UnsupportedMediaType";
  } catch (const UnsupportedMediaType& e) {
    EXPECT_EQ(e.status(), 415);
  }
  EXPECT_THROW(File("\x7f"
                    "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0"s,
                    "a.txt"),
               UnsupportedMediaType);
  EXPECT_THROW(File(std::string(300, '\0') + "\x01\x02\x03", "data.txt"), UnsupportedMediaType);
  EXPECT_THROW(File("{\\rtf1\\ansi Hello}", "letter.txt"), UnsupportedMediaType);
  // A ZIP that is not a Word document.
  testing::WriteZip(dir_.Path("other.zip"), {{"notes.txt", "hello"}});
  EXPECT_THROW(File(testing::ReadFile(dir_.Path("other.zip")), "other.docx"), UnsupportedMediaType);
}

TEST_F(DetectTest, FromBytesIncludingAZipPrefix) {
  EXPECT_EQ(DetectFormatFromBytes(pdf_, "x.txt", ""), Format::kPdf);
  EXPECT_EQ(DetectFormatFromBytes(docx_, "x.docx", ""), Format::kDocx);
  // Only the first part of an upload: the local header names word/document.xml.
  const std::string docx_with_document_first =
      (testing::WriteZip(dir_.Path("first.docx"), {{"word/document.xml", testing::DocumentXml("")}}),
       testing::ReadFile(dir_.Path("first.docx")));
  EXPECT_EQ(DetectFormatFromBytes(docx_with_document_first.substr(0, 60), "x.docx", ""), Format::kDocx);
  EXPECT_EQ(DetectFormatFromBytes("# Title\n", "x.md", ""), Format::kMarkdown);
}

}  // namespace
}  // namespace studio::extract
