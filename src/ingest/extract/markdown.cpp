// Markdown with cmark: headings become sections, paragraphs, list items and code blocks become
// blocks of plain text (markup dropped, link and image text kept).

#include <cmark.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "ingest/extract/internal.hpp"

namespace studio::extract::detail {
namespace {

struct NodeFree {
  void operator()(cmark_node* node) const { cmark_node_free(node); }
};
struct IterFree {
  void operator()(cmark_iter* iter) const { cmark_iter_free(iter); }
};

std::string Literal(cmark_node* node) {
  const char* literal = cmark_node_get_literal(node);
  return literal == nullptr ? "" : literal;
}

std::string Trim(std::string_view s) {
  const std::size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  const std::size_t end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}

// YAML front matter ("---" line, "key: value" lines, "---" line) is common in Markdown sites. It
// is not Markdown (cmark would render it as a rule and a heading), so it is cut off here and its
// simple scalar keys are read as metadata. Anything fancier than "key: value" is ignored.
std::string_view StripFrontMatter(std::string_view text, ExtractedDocument& doc) {
  if (text.substr(0, 4) != "---\n" && text.substr(0, 5) != "---\r\n") return text;
  std::size_t pos = text.find('\n') + 1;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line == "---" || line == "...") return pos >= text.size() ? std::string_view() : text.substr(pos);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = Trim(line.substr(0, colon));
    std::string value = Trim(line.substr(colon + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    value = CleanInline(value);
    if (key == "title") doc.title = value;
    if (key == "author") doc.author = value;
    if (key == "date") doc.created = value;
    if (key == "lang" || key == "language") doc.language = value;
  }
  return text;  // no closing line: not front matter after all
}

}  // namespace

void ExtractMarkdown(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc) {
  const Decoded decoded = DecodeToUtf8(ReadFileLimited(path, limits.max_bytes));
  doc.detected_encoding = decoded.encoding;
  ExtractedDocument front_matter;
  const std::string_view markdown = StripFrontMatter(decoded.utf8, front_matter);

  std::unique_ptr<cmark_node, NodeFree> root(
      cmark_parse_document(markdown.data(), markdown.size(), CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8));
  if (!root) throw std::bad_alloc();
  std::unique_ptr<cmark_iter, IterFree> iter(cmark_iter_new(root.get()));

  TextBuilder builder(limits.max_text_bytes);
  std::string inline_text;  // text of the paragraph or heading being read
  std::string first_h1;
  int list_depth = 0;
  int list_group = 0;
  // cmark's iterator walks the tree without recursion, so deep nesting cannot exhaust the stack.
  for (cmark_event_type event = cmark_iter_next(iter.get()); event != CMARK_EVENT_DONE;
       event = cmark_iter_next(iter.get())) {
    cmark_node* node = cmark_iter_get_node(iter.get());
    const bool enter = event == CMARK_EVENT_ENTER;
    switch (cmark_node_get_type(node)) {
      case CMARK_NODE_HEADING:
        if (enter) {
          inline_text.clear();
        } else {
          const int level = cmark_node_get_heading_level(node);
          if (level == 1 && first_h1.empty()) first_h1 = CleanInline(inline_text);
          builder.Heading(level, inline_text);
        }
        break;
      case CMARK_NODE_PARAGRAPH:
        if (enter) {
          inline_text.clear();
        } else {
          builder.Paragraph(inline_text, list_depth > 0 ? list_group : 0);
        }
        break;
      case CMARK_NODE_LIST:
        if (enter) {
          if (list_depth++ == 0) list_group = builder.NewGroup();
        } else {
          --list_depth;
        }
        break;
      case CMARK_NODE_CODE_BLOCK:
        builder.Paragraph(Literal(node), list_depth > 0 ? list_group : 0, Whitespace::kPreserve);
        break;
      case CMARK_NODE_HTML_BLOCK: builder.Paragraph(HtmlFragmentToText(Literal(node), limits.max_text_bytes)); break;
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE: inline_text += Literal(node); break;
      case CMARK_NODE_SOFTBREAK: inline_text += ' '; break;
      case CMARK_NODE_LINEBREAK: inline_text += '\n'; break;
      default: break;  // emphasis, links and images: their text children carry the words
    }
  }

  doc.title = front_matter.title.empty() ? first_h1 : front_matter.title;
  doc.author = front_matter.author;
  doc.created = front_matter.created;
  doc.language = front_matter.language;
  builder.Finish(doc);
}

}  // namespace studio::extract::detail
