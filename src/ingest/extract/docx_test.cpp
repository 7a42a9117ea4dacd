#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/extract/extract.hpp"
#include "ingest/extract/test_files.hpp"

namespace studio::extract {
namespace {

using testing::DocxParts;
using testing::ErrorCode;
using testing::Para;
using testing::TempDir;
using testing::ZipEntry;

constexpr const char* kWordNs = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";

std::string Body() {
  return Para("Product Guide", "Title") + Para("Install", "Heading1") +
         // Runs split mid-word, deleted text, a tab.
         "<w:p><w:r><w:t>Grü</w:t></w:r><w:r><w:t xml:space=\"preserve\">ße — naïve </w:t></w:r>"
         "<w:del><w:r><w:delText>deleted words</w:delText></w:r></w:del>"
         "<w:r><w:t>café</w:t><w:tab/><w:t>tabbed</w:t></w:r></w:p>" +
         Para("Linux", "Heading2") +
         "<w:p><w:pPr><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr>"
         "<w:r><w:t>first item</w:t></w:r></w:p>"
         "<w:p><w:pPr><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr>"
         "<w:r><w:t>second item</w:t></w:r></w:p>" +
         Para("Run the installer.") +
         "<w:tbl><w:tblPr/>"
         "<w:tr><w:tc><w:tcPr/><w:p><w:r><w:t>Name</w:t></w:r></w:p></w:tc>"
         "<w:tc><w:p><w:r><w:t>Value</w:t></w:r></w:p></w:tc></w:tr>"
         "<w:tr><w:tc><w:p><w:r><w:t>alpha</w:t></w:r></w:p></w:tc>"
         "<w:tc><w:p><w:r><w:t>1</w:t></w:r></w:p><w:p><w:r><w:t>(one)</w:t></w:r></w:p></w:tc></w:tr>"
         "</w:tbl>" +
         Para("Usage",
              "\xC3\x9C"
              "berschrift1") +  // a German Word's id for "heading 1", mapped by styles.xml
         // A field: the code (instrText) is not text, the result is.
         "<w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText>PAGE \\* "
         "MERGEFORMAT</w:instrText></w:r>"
         "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>Page 7</w:t></w:r>"
         "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>"
         "<w:p><w:pPr><w:outlineLvl w:val=\"1\"/></w:pPr><w:r><w:t>Outlined</w:t></w:r></w:p>" +
         Para("Derived style heading", "MyHeading") + Para("The end.");
}

std::string Styles() {
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:styles ") + kWordNs +
         "><w:docDefaults><w:rPrDefault><w:rPr><w:lang w:val=\"en-GB\"/></w:rPr></w:rPrDefault></w:docDefaults>"
         "<w:style w:type=\"paragraph\" w:styleId=\"\xC3\x9C"
         "berschrift1\"><w:name w:val=\"heading 1\"/></w:style>"
         "<w:style w:type=\"paragraph\" w:styleId=\"MyHeading\"><w:name w:val=\"My Heading\"/>"
         "<w:basedOn w:val=\"Heading3\"/></w:style>"
         "<w:style w:type=\"paragraph\" w:styleId=\"Heading3\"><w:name w:val=\"heading 3\"/></w:style>"
         "</w:styles>";
}

class DocxTest : public ::testing::Test {
 protected:
  std::string Write(const std::vector<ZipEntry>& entries, const std::string& name = "doc.docx") {
    std::string path = dir_.Path(name);
    testing::WriteZip(path, entries);
    return path;
  }
  ExtractedDocument ExtractDocx(const std::string& path, const ExtractLimits& limits = {}) {
    return Extract(path, Format::kDocx, limits);
  }
  TempDir dir_;
};

TEST_F(DocxTest, TextHeadingsTablesAndMetadata) {
  const std::string core =
      testing::CoreXml("Guide Title", "Jane Doe", "2024-01-02T03:04:05Z", "2024-02-03T04:05:06Z", "de-DE");
  const auto doc = ExtractDocx(Write(DocxParts(Body(), core, Styles())));

  EXPECT_EQ(doc.format, Format::kDocx);
  EXPECT_EQ(doc.text,
            "Product Guide\n\nInstall\n\nGrüße — naïve café tabbed\n\nLinux\n\nfirst item\nsecond item\n\n"
            "Run the installer.\n\nName | Value\nalpha | 1 (one)\n\nUsage\n\nPage 7\n\nOutlined\n\n"
            "Derived style heading\n\nThe end.");
  EXPECT_EQ(doc.title, "Guide Title");
  EXPECT_EQ(doc.author, "Jane Doe");
  EXPECT_EQ(doc.created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(doc.modified, "2024-02-03T04:05:06Z");
  EXPECT_EQ(doc.language, "de-DE");

  std::vector<std::string> paths;
  for (const auto& s : doc.sections) paths.push_back(s.heading_path);
  EXPECT_EQ(paths,
            (std::vector<std::string>{"Product Guide", "Product Guide > Install", "Product Guide > Install > Linux",
                                      "Product Guide > Usage", "Product Guide > Usage > Outlined",
                                      "Product Guide > Usage > Outlined > Derived style heading"}));
  const Section& linux = doc.sections[2];
  EXPECT_EQ(doc.text.substr(linux.begin, linux.end - linux.begin),
            "Linux\n\nfirst item\nsecond item\n\nRun the installer.\n\nName | Value\nalpha | 1 (one)\n\n");
  EXPECT_EQ(doc.text.find("deleted"), std::string::npos);
  EXPECT_EQ(doc.text.find("MERGEFORMAT"), std::string::npos);
}

TEST_F(DocxTest, WithoutCorePropertiesOrStyles) {
  const auto doc = ExtractDocx(Write(DocxParts(Body())));
  EXPECT_EQ(doc.title, "Product Guide");  // the Title-styled paragraph
  EXPECT_EQ(doc.author, "");
  EXPECT_EQ(doc.language, "");
  // Built-in English ids still make headings; the German id and derived style do not without styles.xml.
  ASSERT_GE(doc.sections.size(), 3u);
  EXPECT_EQ(doc.sections[2].heading_path, "Product Guide > Install > Linux");
}

TEST_F(DocxTest, LanguageFromStyleDefaults) {
  EXPECT_EQ(ExtractDocx(Write(DocxParts(Para("Hello"), "", Styles()))).language, "en-GB");
}

TEST_F(DocxTest, ExternalEntityIsRefusedAndNeverRead) {
  const std::string xxe = std::string("<?xml version=\"1.0\"?>\n") +
                          "<!DOCTYPE w:document [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<w:document " +
                          kWordNs + "><w:body><w:p><w:r><w:t>leak: &xxe;</w:t></w:r></w:p></w:body></w:document>";
  auto parts = DocxParts("");
  parts[2].data = xxe;  // word/document.xml
  try {
    ExtractDocx(Write(parts));
    FAIL() << "expected XML_ENTITY_REFUSED";
  } catch (const ExtractError& e) {
    EXPECT_EQ(e.code(), "XML_ENTITY_REFUSED");
    EXPECT_TRUE(e.permanent());
    EXPECT_EQ(std::string(e.what()).find("root:"), std::string::npos);
  }

  // The same in docProps/core.xml.
  const std::string core_xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE cp:coreProperties [<!ENTITY xxe SYSTEM "
      "\"file:///etc/passwd\">]><cp:coreProperties "
      "xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" "
      "xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>&xxe;</dc:title>"
      "</cp:coreProperties>";
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(Write(DocxParts(Para("Hello"), core_xxe))); }), "XML_ENTITY_REFUSED");

  // An external DTD is refused too (and never fetched).
  auto external = DocxParts("");
  external[2].data = std::string("<?xml version=\"1.0\"?><!DOCTYPE w:document SYSTEM \"http://127.0.0.1:9/x.dtd\">") +
                     "<w:document " + kWordNs + "><w:body>" + Para("Hello") + "</w:body></w:document>";
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(Write(external)); }), "XML_ENTITY_REFUSED");
}

TEST_F(DocxTest, BillionLaughsIsRefused) {
  std::string dtd = "<!DOCTYPE w:document [<!ENTITY lol \"lol\">";
  dtd += "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">";
  for (int i = 2; i <= 9; ++i) {
    std::string refs;
    for (int j = 0; j < 10; ++j) refs += "&lol" + std::to_string(i - 1) + ";";
    dtd += "<!ENTITY lol" + std::to_string(i) + " \"" + refs + "\">";
  }
  dtd += "]>";
  auto parts = DocxParts("");
  parts[2].data = "<?xml version=\"1.0\"?>" + dtd + "<w:document " + kWordNs +
                  "><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>";
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(Write(parts)); }), "XML_ENTITY_REFUSED");
}

TEST_F(DocxTest, ZipBombByDeclaredSize) {
  // 300 MB of zeros deflate to ~300 KB; the central directory gives it away before any inflating.
  const std::string path = dir_.Path("bomb.docx");
  auto parts = DocxParts(Para("Hello"));
  parts.erase(parts.begin() + 2);  // word/document.xml is the bomb
  testing::WriteZipWithZeros(path, parts, "word/document.xml", 300'000'000);
  try {
    ExtractDocx(path);
    FAIL() << "expected ZIP_BOMB";
  } catch (const ExtractError& e) {
    EXPECT_EQ(e.code(), "ZIP_BOMB");
    EXPECT_TRUE(e.permanent());
  }
}

TEST_F(DocxTest, ZipBombByCompressionRatio) {
  const std::string path = dir_.Path("ratio.docx");
  testing::WriteZipWithZeros(path, DocxParts(Para("Hello")), "word/media/zeros.bin", 4u << 20);
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(path); }), "ZIP_BOMB");
  ExtractLimits lenient;
  lenient.max_compression_ratio = 100'000;
  EXPECT_EQ(ExtractDocx(path, lenient).text, "Hello");
}

TEST_F(DocxTest, ZipBombByEntryCount) {
  auto parts = DocxParts(Para("Hello"));
  for (int i = 0; i < 20; ++i) parts.push_back({"word/media/" + std::to_string(i) + ".txt", "x"});
  const std::string path = Write(parts);
  ExtractLimits limits;
  limits.max_zip_entries = 10;
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(path, limits); }), "ZIP_BOMB");
  limits.max_zip_entries = 30;
  EXPECT_EQ(ExtractDocx(path, limits).text, "Hello");
}

TEST_F(DocxTest, ForgedDeclaredSizeIsCaughtWhileInflating) {
  // word/document.xml declares 1000 bytes but inflates to 8 MiB: the declared sizes pass every
  // check, so only counting the bytes actually read can stop it.
  const std::string path = dir_.Path("forged.docx");
  auto parts = DocxParts("");
  parts.erase(parts.begin() + 2);
  testing::WriteZipWithZeros(path, parts, "word/document.xml", 8u << 20);
  testing::ForgeDeclaredSize(path, "word/document.xml", 1000);
  const std::string code = ErrorCode([&] { ExtractDocx(path); });
  EXPECT_EQ(code, "ZIP_BOMB");
}

TEST_F(DocxTest, MalformedArchives) {
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(dir_.Write("text.docx", "not a zip at all")); }), "MALFORMED_DOCX");
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(Write({{"notes.txt", "hello"}})); }), "MALFORMED_DOCX");
  auto parts = DocxParts("");
  parts[2].data = "<w:document><w:body><w:p>unclosed";
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(Write(parts)); }), "MALFORMED_DOCX");
  const std::string whole = testing::ReadFile(Write(DocxParts(Para("Hello"))));
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(dir_.Write("cut.docx", whole.substr(0, whole.size() / 2))); }),
            "MALFORMED_DOCX");
}

TEST_F(DocxTest, DocumentWithoutTextIsEmpty) {
  EXPECT_EQ(ErrorCode([&] { ExtractDocx(Write(DocxParts(Para("  ")))); }), "EMPTY_DOCUMENT");
}

}  // namespace
}  // namespace studio::extract
