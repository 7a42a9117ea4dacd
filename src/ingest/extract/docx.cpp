// DOCX: a ZIP archive (libzip) of WordprocessingML parts (libxml2).
//
// Hostile archives are refused before anything is inflated (entry count, declared sizes, ratios)
// and while inflating (actual bytes, which a forged header can understate). XML parts are parsed
// without network access, without entity substitution and without DTD loading, and a part with a
// DOCTYPE is refused outright: Word never writes one, and it is how XXE and "billion laughs" start.

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zip.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ingest/extract/internal.hpp"

namespace studio::extract::detail {
namespace {

constexpr const char* kWordNs = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
constexpr const char* kWordStrictNs = "http://purl.oclc.org/ooxml/wordprocessingml/main";
constexpr const char* kDcNs = "http://purl.org/dc/elements/1.1/";
constexpr const char* kDcTermsNs = "http://purl.org/dc/terms/";

// ---- ZIP ----

class Archive {
 public:
  explicit Archive(const std::string& path) {
    int error = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY, &error);
    if (zip_ == nullptr) Fail("MALFORMED_DOCX", "The DOCX file is not a readable ZIP archive.");
  }
  ~Archive() { zip_discard(zip_); }
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;

  // Judges the archive from its central directory alone, before inflating anything.
  void CheckDeclaredSizes(const ExtractLimits& limits) const {
    const zip_int64_t entries = zip_get_num_entries(zip_, 0);
    if (entries < 0) Fail("MALFORMED_DOCX", "The DOCX archive has no readable directory.");
    if (static_cast<std::uint64_t>(entries) > limits.max_zip_entries) {
      Fail("ZIP_BOMB", "The archive has " + std::to_string(entries) + " entries; at most " +
                           std::to_string(limits.max_zip_entries) + " are accepted.");
    }
    std::uint64_t total = 0;
    std::uint64_t total_compressed = 0;
    for (zip_int64_t i = 0; i < entries; ++i) {
      zip_stat_t st;
      zip_stat_init(&st);
      if (zip_stat_index(zip_, static_cast<zip_uint64_t>(i), 0, &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0 ||
          (st.valid & ZIP_STAT_COMP_SIZE) == 0) {
        Fail("MALFORMED_DOCX", "The DOCX archive has an unreadable entry.");
      }
      if (st.size > limits.max_uncompressed_bytes) Fail("ZIP_BOMB", "An archive entry is too large when inflated.");
      CheckRatio(st.size, st.comp_size, limits);
      total += st.size;  // cannot overflow: each term is at most max_uncompressed_bytes
      total_compressed += st.comp_size;
      if (total > limits.max_uncompressed_bytes) Fail("ZIP_BOMB", "The archive is too large when inflated.");
    }
    CheckRatio(total, total_compressed, limits);
  }

  // The entry's bytes, or nullopt when there is no such entry. Counts what is actually inflated:
  // an entry may not produce more than it declared, nor the archive more than the limit.
  std::optional<std::string> Read(const char* name, const ExtractLimits& limits) {
    const zip_int64_t index = zip_name_locate(zip_, name, ZIP_FL_NOCASE);
    if (index < 0) return std::nullopt;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip_, static_cast<zip_uint64_t>(index), 0, &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0) {
      Fail("MALFORMED_DOCX", std::string("Cannot read ") + name + " in the DOCX archive.");
    }
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(zip_fopen_index(zip_, static_cast<zip_uint64_t>(index), 0),
                                                            &zip_fclose);
    if (!file) Fail("MALFORMED_DOCX", std::string("Cannot open ") + name + " in the DOCX archive.");
    std::string data;
    char buffer[1 << 16];
    for (;;) {
      const zip_int64_t n = zip_fread(file.get(), buffer, sizeof buffer);
      if (n < 0) Fail("MALFORMED_DOCX", std::string(name) + " in the DOCX archive is corrupt.");
      if (n == 0) break;
      const auto count = static_cast<std::uint64_t>(n);
      if (data.size() + count > st.size) Fail("ZIP_BOMB", "An archive entry inflates to more than it declares.");
      inflated_ += count;
      if (inflated_ > limits.max_uncompressed_bytes) Fail("ZIP_BOMB", "The archive is too large when inflated.");
      data.append(buffer, static_cast<std::size_t>(n));
    }
    return data;
  }

 private:
  static void CheckRatio(std::uint64_t size, std::uint64_t compressed, const ExtractLimits& limits) {
    if (size < limits.ratio_check_min_bytes) return;
    if (size / std::max<std::uint64_t>(compressed, 1) > limits.max_compression_ratio) {
      Fail("ZIP_BOMB", "The archive's compression ratio is suspiciously high.");
    }
  }

  zip_t* zip_ = nullptr;
  std::uint64_t inflated_ = 0;
};

// ---- XML ----

struct XmlDocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocFree>;

// Set by the SAX hook below for the part being parsed on this thread.
thread_local bool saw_doctype = false;

void StopAtDoctype(void* context, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                   const xmlChar* /*system_id*/) {
  saw_doctype = true;
  // Called before the internal subset is read, so no entity declaration is ever looked at.
  xmlStopParser(static_cast<xmlParserCtxtPtr>(context));
}

XmlDoc ParsePart(const std::string& xml, const char* name) {
  if (xml.size() > static_cast<std::size_t>(INT_MAX)) Fail("ZIP_BOMB", std::string(name) + " is too large.");
  std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> context(xmlNewParserCtxt(), &xmlFreeParserCtxt);
  if (!context) throw std::bad_alloc();
  context->sax->internalSubset = &StopAtDoctype;
  saw_doctype = false;
  // No XML_PARSE_NOENT (substitute entities), XML_PARSE_DTDLOAD or XML_PARSE_HUGE.
  XmlDoc doc(xmlCtxtReadMemory(context.get(), xml.data(), static_cast<int>(xml.size()), name, nullptr,
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (saw_doctype || (doc && (doc->intSubset != nullptr || doc->extSubset != nullptr))) {
    Fail("XML_ENTITY_REFUSED", std::string(name) + " declares a DTD; DOCX parts never do, so it is refused.");
  }
  if (!doc || context->wellFormed == 0 || xmlDocGetRootElement(doc.get()) == nullptr) {
    Fail("MALFORMED_DOCX", std::string(name) + " is not well-formed XML.");
  }
  return doc;
}

bool InNs(const xmlNode* node, const char* ns) {
  return node->ns != nullptr && node->ns->href != nullptr &&
         std::string_view(reinterpret_cast<const char*>(node->ns->href)) == ns;
}

bool IsElement(const xmlNode* node, const char* local_name) {
  return node->type == XML_ELEMENT_NODE && std::string_view(reinterpret_cast<const char*>(node->name)) == local_name;
}

// A WordprocessingML element (transitional or strict namespace).
bool IsW(const xmlNode* node, const char* local_name) {
  return IsElement(node, local_name) && (InNs(node, kWordNs) || InNs(node, kWordStrictNs));
}

const xmlNode* ChildW(const xmlNode* parent, const char* local_name) {
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (IsW(c, local_name)) return c;
  }
  return nullptr;
}

std::string AttrW(const xmlNode* node, const char* local_name) {
  for (const char* ns : {kWordNs, kWordStrictNs}) {
    xmlChar* value =
        xmlGetNsProp(node, reinterpret_cast<const xmlChar*>(local_name), reinterpret_cast<const xmlChar*>(ns));
    if (value != nullptr) {
      std::string out(reinterpret_cast<const char*>(value));
      xmlFree(value);
      return out;
    }
  }
  return "";
}

// Direct text children only (there are no entity references: DTDs are refused).
std::string TextOf(const xmlNode* node) {
  std::string out;
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != nullptr) {
      out += reinterpret_cast<const char*>(c->content);
    }
  }
  return out;
}

std::optional<int> SmallInt(const std::string& s) {
  if (s.empty() || s.size() > 2 || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  return std::stoi(s);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "heading 3" / "Heading3" -> 3; "title" -> 0.
std::optional<int> LevelFromName(const std::string& name) {
  const std::string lower = Lower(name);
  if (lower == "title") return 0;
  const std::string_view prefix = "heading";
  if (lower.rfind(prefix, 0) != 0) return std::nullopt;
  std::string digits = lower.substr(prefix.size());
  if (!digits.empty() && digits.front() == ' ') digits.erase(0, 1);
  const auto level = SmallInt(digits);
  if (!level || *level < 1 || *level > 9) return std::nullopt;
  return level;
}

// w:outlineLvl 0..8 is a heading level 1..9; 9 means body text.
std::optional<int> LevelFromOutline(const xmlNode* ppr) {
  if (ppr == nullptr) return std::nullopt;
  const xmlNode* outline = ChildW(ppr, "outlineLvl");
  if (outline == nullptr) return std::nullopt;
  const auto value = SmallInt(AttrW(outline, "val"));
  if (!value || *value > 8) return std::nullopt;
  return *value + 1;
}

// ---- styles.xml: which paragraph styles are headings, and the default language ----

struct Styles {
  std::map<std::string, int> heading_level;  // styleId -> level
  std::string default_language;
};

Styles ReadStyles(const XmlDoc& doc) {
  struct Raw {
    std::optional<int> level;
    std::string based_on;
  };
  std::map<std::string, Raw> raw;
  Styles styles;
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  for (const xmlNode* s = root->children; s != nullptr; s = s->next) {
    if (IsW(s, "docDefaults")) {
      const xmlNode* rpr_default = ChildW(s, "rPrDefault");
      const xmlNode* rpr = rpr_default ? ChildW(rpr_default, "rPr") : nullptr;
      const xmlNode* lang = rpr ? ChildW(rpr, "lang") : nullptr;
      if (lang != nullptr) styles.default_language = CleanInline(AttrW(lang, "val"));
      continue;
    }
    if (!IsW(s, "style") || AttrW(s, "type") != "paragraph") continue;
    Raw& r = raw[AttrW(s, "styleId")];
    if (const xmlNode* name = ChildW(s, "name")) r.level = LevelFromName(AttrW(name, "val"));
    if (!r.level) r.level = LevelFromOutline(ChildW(s, "pPr"));
    if (const xmlNode* based_on = ChildW(s, "basedOn")) r.based_on = AttrW(based_on, "val");
  }
  for (const auto& [id, r] : raw) {
    // Follow basedOn a few steps: a custom style derived from "heading 2" is a level-2 heading.
    const Raw* current = &r;
    for (int depth = 0; depth < 10 && current != nullptr; ++depth) {
      if (current->level) {
        styles.heading_level[id] = *current->level;
        break;
      }
      const auto parent = raw.find(current->based_on);
      current = parent == raw.end() ? nullptr : &parent->second;
    }
  }
  return styles;
}

// ---- document.xml ----

class BodyWalker {
 public:
  BodyWalker(TextBuilder& builder, const Styles& styles) : builder_(builder), styles_(styles) {}

  void Blocks(const xmlNode* parent) {
    for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
      if (IsW(c, "p")) {
        Paragraph(c);
      } else if (IsW(c, "tbl")) {
        Table(c);
      } else if (IsW(c, "sdt")) {
        if (const xmlNode* content = ChildW(c, "sdtContent")) Blocks(content);
      } else if (IsW(c, "customXml")) {
        Blocks(c);
      }
    }
  }

  const std::string& title_paragraph() const { return title_paragraph_; }

 private:
  void Paragraph(const xmlNode* p) {
    const xmlNode* ppr = ChildW(p, "pPr");
    std::string text;
    RunText(p, text);
    if (const auto level = HeadingLevel(ppr)) {
      if (*level == 0 && title_paragraph_.empty()) title_paragraph_ = CleanInline(text);
      builder_.Heading(*level, text);
      list_group_ = 0;
      return;
    }
    const bool list_item = ppr != nullptr && ChildW(ppr, "numPr") != nullptr;
    if (!list_item) {
      list_group_ = 0;
    } else if (list_group_ == 0) {
      list_group_ = builder_.NewGroup();
    }
    builder_.Paragraph(text, list_group_);
  }

  // Each row becomes a line, cells separated by " | ".
  void Table(const xmlNode* table) {
    list_group_ = 0;
    const int group = builder_.NewGroup();
    for (const xmlNode* row = table->children; row != nullptr; row = row->next) {
      if (!IsW(row, "tr")) continue;
      std::string line;
      bool first = true;
      for (const xmlNode* cell = row->children; cell != nullptr; cell = cell->next) {
        if (!IsW(cell, "tc")) continue;
        if (!first) line += " | ";
        first = false;
        CellText(cell, line);
      }
      builder_.Paragraph(line, group);
    }
  }

  // A cell's paragraphs (and nested tables) as one line.
  void CellText(const xmlNode* node, std::string& out) {
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (IsW(c, "p")) {
        std::string text;
        RunText(c, text);
        out += ' ';
        out += text;
      } else if (IsW(c, "tbl") || IsW(c, "tr") || IsW(c, "tc") || IsW(c, "sdt") || IsW(c, "sdtContent") ||
                 IsW(c, "customXml")) {
        CellText(c, out);
      }
    }
  }

  // The visible text of a paragraph's runs; properties, deleted text, field codes and drawings
  // (whose text boxes repeat in fallbacks) are skipped.
  void RunText(const xmlNode* node, std::string& out) {
    for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (IsW(c, "t")) {
        out += TextOf(c);
      } else if (IsW(c, "tab") || IsW(c, "ptab")) {
        out += '\t';
      } else if (IsW(c, "br") || IsW(c, "cr")) {
        out += '\n';
      } else if (IsW(c, "noBreakHyphen")) {
        out += '-';
      } else if (IsW(c, "pPr") || IsW(c, "rPr") || IsW(c, "del") || IsW(c, "delText") || IsW(c, "instrText") ||
                 IsW(c, "drawing") || IsW(c, "pict") || IsW(c, "object") || IsElement(c, "AlternateContent")) {
        continue;
      } else {
        RunText(c, out);  // w:r, w:hyperlink, w:ins, w:smartTag, w:fldSimple, w:sdt, ...
      }
    }
  }

  std::optional<int> HeadingLevel(const xmlNode* ppr) const {
    if (const auto level = LevelFromOutline(ppr)) return level;
    const xmlNode* style = ppr ? ChildW(ppr, "pStyle") : nullptr;
    if (style == nullptr) return std::nullopt;
    const std::string id = AttrW(style, "val");
    const auto it = styles_.heading_level.find(id);
    if (it != styles_.heading_level.end()) return it->second;
    // No styles.xml entry: English Word's built-in style ids.
    return LevelFromName(id);
  }

  TextBuilder& builder_;
  const Styles& styles_;
  int list_group_ = 0;
  std::string title_paragraph_;
};

// ---- docProps/core.xml ----

void ReadCoreProperties(const XmlDoc& doc, ExtractedDocument& out) {
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const std::string value = CleanInline(TextOf(c));
    if (value.empty()) continue;
    if (InNs(c, kDcNs) && IsElement(c, "title")) out.title = value;
    if (InNs(c, kDcNs) && IsElement(c, "creator")) out.author = value;
    if (InNs(c, kDcNs) && IsElement(c, "language")) out.language = value;
    if (InNs(c, kDcTermsNs) && IsElement(c, "created")) out.created = value;
    if (InNs(c, kDcTermsNs) && IsElement(c, "modified")) out.modified = value;
  }
}

}  // namespace

void InitXmlLibrary() { xmlInitParser(); }

void ExtractDocx(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc) {
  Archive archive(path);
  archive.CheckDeclaredSizes(limits);

  const std::optional<std::string> document_xml = archive.Read("word/document.xml", limits);
  if (!document_xml) Fail("MALFORMED_DOCX", "The archive has no word/document.xml; it is not a Word document.");
  const XmlDoc document = ParsePart(*document_xml, "word/document.xml");

  Styles styles;
  if (const auto styles_xml = archive.Read("word/styles.xml", limits)) {
    styles = ReadStyles(ParsePart(*styles_xml, "word/styles.xml"));
  }
  if (const auto core_xml = archive.Read("docProps/core.xml", limits)) {
    ReadCoreProperties(ParsePart(*core_xml, "docProps/core.xml"), doc);
  }
  if (doc.language.empty()) doc.language = styles.default_language;

  TextBuilder builder(limits.max_text_bytes);
  BodyWalker walker(builder, styles);
  const xmlNode* root = xmlDocGetRootElement(document.get());
  if (!IsW(root, "document")) Fail("MALFORMED_DOCX", "word/document.xml is not a WordprocessingML document.");
  if (const xmlNode* body = ChildW(root, "body")) walker.Blocks(body);
  if (doc.title.empty()) doc.title = walker.title_paragraph();
  builder.Finish(doc);
}

}  // namespace studio::extract::detail
