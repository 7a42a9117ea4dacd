// HTML with libxml2's HTML parser: visible text of the body, h1..h6 as sections, metadata from
// <title>, <meta> and <html lang>.

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ingest/extract/internal.hpp"

namespace studio::extract::detail {
namespace {

// The HTML standard's "prescan" looks at the first 1024 bytes; documents in the wild put the
// declaration later, so look a little further.
constexpr std::size_t kCharsetScanBytes = 4096;

constexpr int kParseOptions =
    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER | HTML_PARSE_IGNORE_ENC;

struct HtmlDocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using HtmlDoc = std::unique_ptr<xmlDoc, HtmlDocFree>;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// <meta charset="x"> or <meta http-equiv="Content-Type" content="text/html; charset=x"> near the
// start. A small scan of our own: libxml2 would also find it, but we decode before parsing so the
// result is the same for every encoding ICU knows and we can report what was used.
std::string SniffMetaCharset(std::string_view bytes) {
  const std::string head = Lower(bytes.substr(0, kCharsetScanBytes));
  for (std::size_t meta = head.find("<meta"); meta != std::string::npos; meta = head.find("<meta", meta + 5)) {
    const std::size_t tag_end = std::min(head.find('>', meta), head.size());
    std::size_t pos = head.find("charset", meta);
    if (pos == std::string::npos || pos > tag_end) continue;
    pos += 7;
    while (pos < tag_end && (head[pos] == ' ' || head[pos] == '=' || head[pos] == '"' || head[pos] == '\'')) ++pos;
    std::size_t end = pos;
    while (end < tag_end && (std::isalnum(static_cast<unsigned char>(head[end])) || head[end] == '-' ||
                             head[end] == '_' || head[end] == '.' || head[end] == ':')) {
      ++end;
    }
    if (end > pos) return head.substr(pos, end - pos);
  }
  return "";
}

HtmlDoc ParseHtml(const std::string& utf8) {
  if (utf8.size() > static_cast<std::size_t>(INT_MAX)) Fail("FILE_TOO_LARGE", "The HTML document is too large.");
  return HtmlDoc(htmlReadMemory(utf8.data(), static_cast<int>(utf8.size()), "document.html", "UTF-8", kParseOptions));
}

std::string Name(const xmlNode* node) { return reinterpret_cast<const char*>(node->name); }

std::string Attr(const xmlNode* node, const char* name) {
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (value == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

bool HasAttr(const xmlNode* node, const char* name) {
  return xmlHasProp(node, reinterpret_cast<const xmlChar*>(name)) != nullptr;
}

std::string Content(const xmlNode* node) {
  xmlChar* value = xmlNodeGetContent(node);
  if (value == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

int HeadingLevel(const std::string& name) {
  if (name.size() == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6') return name[1] - '0';
  return 0;
}

// Never visible text, or page furniture rather than content.
const std::set<std::string> kSkipped = {"script", "style",  "nav",    "aside", "noscript", "template",
                                        "svg",    "iframe", "object", "embed", "canvas",   "select",
                                        "head",   "audio",  "video",  "map",   "dialog",   "button"};
const std::set<std::string> kGroups = {"ul", "ol", "dl", "menu", "table"};
const std::set<std::string> kBlocks = {
    "html",       "body",   "p",          "div",     "section", "article", "main",     "li",     "dt",      "dd",
    "blockquote", "figure", "figcaption", "address", "details", "summary", "fieldset", "form",   "caption", "center",
    "header",     "footer", "legend",     "thead",   "tbody",   "tfoot",   "hgroup",   "search", "noframes"};

// Depth-first over the DOM, feeding blocks to the TextBuilder. Iterative, so the depth of a hostile
// page costs no stack (libxml2 also stops parsing at 256 levels).
class Walker {
 public:
  explicit Walker(TextBuilder& builder) : builder_(builder) {}

  void Walk(const xmlNode* root) {
    const xmlNode* node = root;
    while (node != nullptr) {
      const bool descend = Enter(node);
      if (descend && node->children != nullptr) {
        node = node->children;
        continue;
      }
      if (descend) Exit(node);
      while (node != root && node->next == nullptr) {
        node = node->parent;
        Exit(node);
      }
      if (node == root) break;
      node = node->next;
    }
    Flush();
  }

  const std::string& first_h1() const { return first_h1_; }

 private:
  bool Enter(const xmlNode* node) {
    if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
      AppendText(node->content == nullptr ? "" : reinterpret_cast<const char*>(node->content));
      return false;
    }
    if (node->type != XML_ELEMENT_NODE) return false;
    const std::string name = Name(node);
    if (kSkipped.count(name) != 0) return false;
    // <header>/<footer> of the page are chrome; inside an <article> or <main> they are content.
    if ((name == "header" || name == "footer") && content_depth_ == 0) return false;
    if (HasAttr(node, "hidden") || Lower(Attr(node, "aria-hidden")) == "true") return false;

    if (name == "br") {
      buffer_ += '\n';
      return false;
    }
    if (name == "hr") {
      Break();
      return false;
    }
    if (name == "article" || name == "main") ++content_depth_;
    if (const int level = HeadingLevel(name); level > 0 && heading_ == nullptr && cell_depth_ == 0) {
      Flush();
      heading_ = node;
      return true;
    }
    if (name == "td" || name == "th") {
      if (cell_depth_ == 0 && !rows_.empty()) {
        if (!rows_.back()) buffer_ += " | ";
        rows_.back() = false;
      } else {
        buffer_ += ' ';
      }
      ++cell_depth_;
      return true;
    }
    if (Structural()) {
      if (name == "pre") {
        Break();
        ++pre_depth_;
      } else if (kGroups.count(name) != 0) {
        Flush();
        groups_.push_back(builder_.NewGroup());
      } else if (name == "tr") {
        Flush();
        rows_.push_back(true);
      } else if (kBlocks.count(name) != 0) {
        Flush();
      }
    } else if (name == "pre" || kGroups.count(name) != 0 || name == "tr" || kBlocks.count(name) != 0) {
      buffer_ += ' ';
    }
    return true;
  }

  void Exit(const xmlNode* node) {
    if (node->type != XML_ELEMENT_NODE) return;
    const std::string name = Name(node);
    if (name == "article" || name == "main") --content_depth_;
    if (node == heading_) {
      const int level = HeadingLevel(name);
      if (level == 1 && first_h1_.empty()) first_h1_ = CleanInline(buffer_);
      builder_.Heading(level, buffer_);
      buffer_.clear();
      heading_ = nullptr;
      return;
    }
    if (name == "td" || name == "th") {
      --cell_depth_;
      return;
    }
    if (Structural()) {
      if (name == "pre") {
        Flush();
        --pre_depth_;
      } else if (kGroups.count(name) != 0) {
        Flush();
        groups_.pop_back();
      } else if (name == "tr") {
        Flush();
        rows_.pop_back();
      } else if (kBlocks.count(name) != 0) {
        Flush();
      }
    } else if (name == "pre" || kGroups.count(name) != 0 || name == "tr" || kBlocks.count(name) != 0) {
      buffer_ += ' ';
    }
  }

  // Block structure applies outside headings and table cells; inside them blocks are just spaces.
  bool Structural() const { return heading_ == nullptr && cell_depth_ == 0; }

  void AppendText(const char* text) {
    if (pre_depth_ > 0) {
      buffer_ += text;
      return;
    }
    // HTML's white-space collapsing: source line breaks are spaces.
    for (const char* p = text; *p != '\0'; ++p) {
      const char c = *p;
      buffer_ += (c == '\n' || c == '\r' || c == '\t' || c == '\f') ? ' ' : c;
    }
  }

  void Break() {
    if (Structural()) Flush();
  }

  void Flush() {
    if (!Structural() || buffer_.empty()) return;
    builder_.Paragraph(buffer_, groups_.empty() ? 0 : groups_.back(),
                       pre_depth_ > 0 ? Whitespace::kPreserve : Whitespace::kCollapse);
    buffer_.clear();
  }

  TextBuilder& builder_;
  std::string buffer_;  // raw text of the block being read
  const xmlNode* heading_ = nullptr;
  int pre_depth_ = 0;
  int cell_depth_ = 0;
  int content_depth_ = 0;
  std::vector<int> groups_;  // builder groups of the open lists and tables
  std::vector<bool> rows_;   // per open table row: no cell seen yet
  std::string first_h1_;
};

const xmlNode* Child(const xmlNode* parent, const char* name) {
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && Name(c) == name) return c;
  }
  return nullptr;
}

void ReadMetadata(const xmlNode* html, ExtractedDocument& doc) {
  doc.language = CleanInline(Attr(html, "lang"));
  if (doc.language.empty()) doc.language = CleanInline(Attr(html, "xml:lang"));
  const xmlNode* head = Child(html, "head");
  if (head == nullptr) return;
  for (const xmlNode* c = head->children; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (Name(c) == "title" && doc.title.empty()) doc.title = CleanInline(Content(c));
    if (Name(c) != "meta") continue;
    const std::string key = Lower(Attr(c, HasAttr(c, "name") ? "name" : "property"));
    const std::string value = CleanInline(Attr(c, "content"));
    if (value.empty()) continue;
    if (key == "author" || key == "dc.creator") {
      doc.author = value;
    } else if (key == "article:published_time" || key == "dcterms.created" || key == "dc.date.created" ||
               key == "date") {
      doc.created = value;
    } else if (key == "article:modified_time" || key == "dcterms.modified" || key == "last-modified") {
      doc.modified = value;
    } else if ((key == "language" || key == "dc.language") && doc.language.empty()) {
      doc.language = value;
    }
  }
}

}  // namespace

void ExtractHtml(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc) {
  const std::string bytes = ReadFileLimited(path, limits.max_bytes);
  const Decoded decoded = DecodeToUtf8(bytes, SniffMetaCharset(bytes));
  doc.detected_encoding = decoded.encoding;
  const HtmlDoc html = ParseHtml(decoded.utf8);
  const xmlNode* root = html ? xmlDocGetRootElement(html.get()) : nullptr;
  if (root == nullptr) Fail("EMPTY_DOCUMENT", "The HTML document has no content.");
  ReadMetadata(root, doc);

  TextBuilder builder(limits.max_text_bytes);
  Walker walker(builder);
  walker.Walk(root);
  if (doc.title.empty()) doc.title = walker.first_h1();
  builder.Finish(doc);
}

std::string HtmlFragmentToText(std::string_view html, std::uint64_t max_text_bytes) {
  const HtmlDoc doc = ParseHtml(std::string(html));
  const xmlNode* root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (root == nullptr) return "";
  TextBuilder builder(max_text_bytes);
  Walker walker(builder);
  walker.Walk(root);
  return builder.TakeText();
}

}  // namespace studio::extract::detail
