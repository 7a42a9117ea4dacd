#include <gtest/gtest.h>

#include <string>

#include "ingest/extract/extract.hpp"
#include "ingest/extract/test_files.hpp"

namespace studio::extract {
namespace {

using namespace std::string_literals;
using testing::ErrorCode;
using testing::TempDir;

constexpr std::string_view kGreeting = "Grüße — naïve café";

std::string Utf16(std::u16string_view text, bool big_endian) {
  std::string out = big_endian ? "\xFE\xFF" : "\xFF\xFE";
  for (const char16_t c : text) {
    const char high = static_cast<char>(c >> 8);
    const char low = static_cast<char>(c & 0xFF);
    out += big_endian ? high : low;
    out += big_endian ? low : high;
  }
  return out;
}

class TextExtractTest : public ::testing::Test {
 protected:
  ExtractedDocument ExtractBytes(std::string_view bytes, const ExtractLimits& limits = {}) {
    return Extract(dir_.Write("doc.txt", bytes), Format::kText, limits);
  }
  TempDir dir_;
};

TEST_F(TextExtractTest, Utf8IsCleanedAndNormalised) {
  // NFD "é" (e + U+0301), CRLF, a NUL and a form feed; two paragraphs.
  const auto doc = ExtractBytes("caf\x65\xCC\x81 au lait\r\nsecond\x00 line\r\n\r\n\r\n\x0cnext   paragraph\r\n"s);
  EXPECT_EQ(doc.text, "café au lait\nsecond line\n\nnext paragraph");
  EXPECT_EQ(doc.detected_encoding, "UTF-8");
  EXPECT_EQ(doc.format, Format::kText);
  ASSERT_EQ(doc.sections.size(), 1u);
  EXPECT_EQ(doc.sections[0].heading_path, "");
  EXPECT_TRUE(doc.pages.empty());
}

TEST_F(TextExtractTest, Utf8BomIsStripped) {
  const auto doc = ExtractBytes("\xEF\xBB\xBF" + std::string(kGreeting));
  EXPECT_EQ(doc.text, kGreeting);
  EXPECT_EQ(doc.detected_encoding, "UTF-8");
}

TEST_F(TextExtractTest, Utf16WithByteOrderMarks) {
  const std::u16string text = u"Grüße — naïve café\r\nzweite Zeile";
  const auto le = ExtractBytes(Utf16(text, false));
  EXPECT_EQ(le.text, std::string(kGreeting) + "\nzweite Zeile");
  EXPECT_EQ(le.detected_encoding, "UTF-16LE");
  const auto be = ExtractBytes(Utf16(text, true));
  EXPECT_EQ(be.text, le.text);
  EXPECT_EQ(be.detected_encoding, "UTF-16BE");
}

TEST_F(TextExtractTest, Latin1IsDetected) {
  // "Grüße aus München ..." in ISO-8859-1; uchardet needs a few sentences to be sure.
  const std::string latin1 =
      "Gr\xFC\xDF"
      "e aus M\xFCnchen! Die Stra\xDF"
      "e ist sch\xF6n, das Caf\xE9 hat ge\xF6"
      "ffnet.\n"
      "Der B\xE4"
      "cker verkauft Br\xF6tchen und K\xE4sekuchen f\xFCr die G\xE4ste. \xC0 la fran\xE7"
      "aise, na\xEFve.\n";
  const auto doc = ExtractBytes(latin1);
  EXPECT_EQ(doc.text,
            "Grüße aus München! Die Straße ist schön, das Café hat geöffnet.\n"
            "Der Bäcker verkauft Brötchen und Käsekuchen für die Gäste. À la française, naïve.");
  EXPECT_EQ(doc.detected_encoding, "windows-1252");
}

TEST_F(TextExtractTest, InvalidBytesAreReplacedNotFatal) {
  // Mostly UTF-8 with one stray byte: decoded, never a crash or an exception.
  const auto doc = ExtractBytes("valid caf\xC3\xA9 then \xFF stray byte\n");
  EXPECT_NE(doc.text.find("stray byte"), std::string::npos);
  EXPECT_EQ(doc.text.find('\xFF'), std::string::npos);
}

TEST_F(TextExtractTest, EmptyAndBlankFilesAreEmptyDocuments) {
  EXPECT_EQ(ErrorCode([&] { ExtractBytes(""); }), "EMPTY_DOCUMENT");
  EXPECT_EQ(ErrorCode([&] { ExtractBytes(" \r\n\t\n\x00\x01\n"s); }), "EMPTY_DOCUMENT");
  EXPECT_EQ(ErrorCode([&] { ExtractBytes("\xEF\xBB\xBF"); }), "EMPTY_DOCUMENT");
}

TEST_F(TextExtractTest, SizeLimits) {
  ExtractLimits limits;
  limits.max_bytes = 10;
  EXPECT_EQ(ErrorCode([&] { ExtractBytes("more than ten bytes", limits); }), "FILE_TOO_LARGE");
  limits = ExtractLimits{};
  limits.max_text_bytes = 8;
  EXPECT_EQ(ErrorCode([&] { ExtractBytes("short\n\nand then longer", limits); }), "TEXT_TOO_LARGE");
}

TEST_F(TextExtractTest, MissingFileIsAnIoError) {
  try {
    Extract(dir_.Path("missing.txt"), Format::kText, ExtractLimits{});
    FAIL() << "expected IO_ERROR";
  } catch (const ExtractError& e) {
    EXPECT_EQ(e.code(), "IO_ERROR");
    EXPECT_TRUE(e.permanent());  // a missing file will not come back
  }
}

}  // namespace
}  // namespace studio::extract
