#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/extract/extract.hpp"
#include "ingest/extract/test_files.hpp"

namespace studio::extract {
namespace {

using testing::ErrorCode;
using testing::TempDir;

std::vector<std::string> Paths(const ExtractedDocument& doc) {
  std::vector<std::string> paths;
  for (const auto& s : doc.sections) paths.push_back(s.heading_path);
  return paths;
}

class HtmlTest : public ::testing::Test {
 protected:
  ExtractedDocument ExtractHtml(std::string_view html) {
    return Extract(dir_.Write("page.html", html), Format::kHtml, ExtractLimits{});
  }
  TempDir dir_;
};

TEST_F(HtmlTest, VisibleTextStructureAndMetadata) {
  const auto doc = ExtractHtml(R"(<!DOCTYPE html>
<html lang="de-AT">
<head>
  <meta charset="utf-8">
  <title>  Studio
     Handbuch </title>
  <meta name="author" content="Jane Doe">
  <meta property="article:published_time" content="2024-01-02T03:04:05Z">
  <style>body { color: red }</style>
  <script>var secret = "script text";</script>
</head>
<body>
  <header><nav><a href="/">Home</a> | <a href="/about">About</a></nav></header>
  <aside>Sidebar ads</aside>
  <main>
    <h1>Install</h1>
    <p>Grüße — naïve
       café &amp; more,   <b>bold</b> and <a href="#">a link</a>.</p>
    <p>Line one<br>Line two</p>
    <h2>Linux</h2>
    <ul><li>first item</li><li>second <em>item</em></li></ul>
    <table><tr><th>Name</th><th>Value</th></tr><tr><td>alpha</td><td><p>1</p></td></tr></table>
    <pre>  indented
    code</pre>
    <noscript>Enable JavaScript</noscript>
    <template><p>template text</p></template>
    <svg><text>svg text</text></svg>
    <div hidden>hidden text</div>
    <h2>macOS</h2>
    <div>Use <code>brew</code>.</div>
  </main>
  <footer>Copyright footer</footer>
  <script>document.write("more script")</script>
</body>
</html>)");

  EXPECT_EQ(doc.format, Format::kHtml);
  EXPECT_EQ(doc.text,
            "Install\n\nGrüße — naïve café & more, bold and a link.\n\nLine one\nLine two\n\nLinux\n\n"
            "first item\nsecond item\n\nName | Value\nalpha | 1\n\n  indented\n    code\n\nmacOS\n\nUse brew.");
  EXPECT_EQ(Paths(doc), (std::vector<std::string>{"Install", "Install > Linux", "Install > macOS"}));
  EXPECT_EQ(doc.title, "Studio Handbuch");
  EXPECT_EQ(doc.author, "Jane Doe");
  EXPECT_EQ(doc.language, "de-AT");
  EXPECT_EQ(doc.created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(doc.detected_encoding, "UTF-8");
  for (const char* hidden : {"script", "color", "Home", "Sidebar", "Copyright", "JavaScript", "template", "svg"}) {
    EXPECT_EQ(doc.text.find(hidden), std::string::npos) << hidden;
  }
}

TEST_F(HtmlTest, ArticleHeaderIsContent) {
  const auto doc = ExtractHtml(
      "<html><body><header>Site chrome</header><article><header><h1>Post title</h1></header>"
      "<p>Body.</p><footer>Posted by Jane</footer></article></body></html>");
  EXPECT_EQ(doc.text, "Post title\n\nBody.\n\nPosted by Jane");
  EXPECT_EQ(doc.title, "Post title");  // no <title>: the first h1
}

TEST_F(HtmlTest, CharsetFromMetaTag) {
  const std::string html =
      "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\">"
      "<title>Caf\xE9</title></head><body><p>Gr\xFC\xDF"
      "e \x93quoted\x94</p></body></html>";
  const auto doc = ExtractHtml(html);
  // ISO-8859-1 is read as windows-1252, as browsers do: 0x93/0x94 are curly quotes.
  EXPECT_EQ(doc.text, "Grüße “quoted”");
  EXPECT_EQ(doc.title, "Café");
  EXPECT_EQ(doc.detected_encoding, "windows-1252");
}

TEST_F(HtmlTest, CharsetDetectedWithoutDeclaration) {
  const std::string html =
      "<html><body><p>Gr\xFC\xDF"
      "e aus M\xFCnchen! Die Stra\xDF"
      "e ist sch\xF6n und das Caf\xE9 hat ge\xF6"
      "ffnet. Der B\xE4"
      "cker verkauft Br\xF6tchen f\xFCr die G\xE4ste.</p></body></html>";
  const auto doc = ExtractHtml(html);
  EXPECT_EQ(doc.text,
            "Grüße aus München! Die Straße ist schön und das Café hat geöffnet. "
            "Der Bäcker verkauft Brötchen für die Gäste.");
}

TEST_F(HtmlTest, Utf16WithBom) {
  const std::u16string html = u"<html><body><h1>Überblick</h1><p>naïve</p></body></html>";
  std::string bytes = "\xFF\xFE";
  for (const char16_t c : html) {
    bytes += static_cast<char>(c & 0xFF);
    bytes += static_cast<char>(c >> 8);
  }
  const auto doc = ExtractHtml(bytes);
  EXPECT_EQ(doc.text, "Überblick\n\nnaïve");
  EXPECT_EQ(doc.detected_encoding, "UTF-16LE");
}

TEST_F(HtmlTest, ExternalEntitiesAreNotResolved) {
  const auto doc = ExtractHtml(
      "<!DOCTYPE html [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><html><body><p>leak: &xxe;</p></body></html>");
  EXPECT_EQ(doc.text.find("root:"), std::string::npos);
  EXPECT_NE(doc.text.find("leak:"), std::string::npos);
}

TEST_F(HtmlTest, DeepNestingIsBounded) {
  // libxml2 stops at its nesting limit (256); what came before is kept, nothing crashes.
  std::string html = "<html><body><p>shallow text</p>";
  for (int i = 0; i < 20000; ++i) html += "<div><span>";
  html += "deep text";
  EXPECT_EQ(ExtractHtml(html).text, "shallow text");
}

TEST_F(HtmlTest, NoVisibleTextIsEmpty) {
  EXPECT_EQ(ErrorCode([&] { ExtractHtml("<html><head><title>Only a title</title></head><body> </body></html>"); }),
            "EMPTY_DOCUMENT");
  EXPECT_EQ(ErrorCode([&] { ExtractHtml("<script>only()</script>"); }), "EMPTY_DOCUMENT");
}

}  // namespace
}  // namespace studio::extract
