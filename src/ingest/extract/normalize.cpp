// Text clean-up shared by every format, and the block-by-block text builder.

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf.h>

#include <climits>
#include <string>
#include <utility>

#include "ingest/extract/internal.hpp"

namespace studio::extract::detail {
namespace {

enum class CharClass { kContent, kSpace, kNewline, kDrop };

CharClass Classify(UChar32 c) {
  switch (c) {
    case '\n':
    case '\r':
    case 0x0B:
    case 0x0C:
    case 0x85:
    case 0x2028:
    case 0x2029: return CharClass::kNewline;
    case '\t':
    case ' ': return CharClass::kSpace;
    case 0xFEFF:  // byte order mark / zero-width no-break space
    case 0x00AD:  // soft hyphen: invisible, and it splits words for search
    case 0xFFFC:  // object replacement character (PDF images)
      return CharClass::kDrop;
    default: break;
  }
  if (U_IS_UNICODE_NONCHAR(c)) return CharClass::kDrop;
  const auto type = u_charType(c);
  if (type == U_CONTROL_CHAR) return CharClass::kDrop;
  if (type == U_SPACE_SEPARATOR) return CharClass::kSpace;
  return CharClass::kContent;
}

const icu::Normalizer2& Nfc() {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || nfc == nullptr) Fail("INTERNAL", "ICU NFC normaliser unavailable", false);
  return *nfc;
}

// `single_line` turns newlines into spaces (headings, metadata).
std::string Clean(std::string_view utf8, Whitespace ws, bool single_line) {
  if (utf8.size() > static_cast<std::size_t>(INT32_MAX)) Fail("TEXT_TOO_LARGE", "The text block is too large.");
  const icu::UnicodeString in =
      icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));

  icu::UnicodeString out;
  icu::UnicodeString space_run;  // spaces since the last content on this line
  int newlines = 0;              // newlines since the last content
  bool line_has_content = false;
  bool previous_was_cr = false;
  for (int32_t i = 0; i < in.length(); i = in.moveIndex32(i, 1)) {
    const UChar32 c = in.char32At(i);
    const bool crlf = previous_was_cr && c == '\n';
    previous_was_cr = c == '\r';
    if (crlf) continue;
    CharClass cls = Classify(c);
    if (single_line && cls == CharClass::kNewline) cls = CharClass::kSpace;
    switch (cls) {
      case CharClass::kDrop: break;
      case CharClass::kNewline:
        space_run.remove();
        ++newlines;
        line_has_content = false;
        break;
      case CharClass::kSpace: space_run.append(c); break;
      case CharClass::kContent:
        if (newlines > 0) {
          if (!out.isEmpty()) out.append(newlines >= 2 ? icu::UnicodeString(u"\n\n") : icu::UnicodeString(u"\n"));
          newlines = 0;
        }
        if (!space_run.isEmpty()) {
          if (ws == Whitespace::kPreserve) {
            out.append(space_run);
          } else if (line_has_content) {
            out.append(static_cast<UChar>(' '));
          }
          space_run.remove();
        }
        out.append(c);
        line_has_content = true;
        break;
    }
  }

  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString normalized = Nfc().normalize(out, status);
  if (U_FAILURE(status)) Fail("INTERNAL", "NFC normalisation failed", false);
  std::string result;
  normalized.toUTF8String(result);
  return result;
}

}  // namespace

std::string CleanText(std::string_view utf8, Whitespace ws) { return Clean(utf8, ws, false); }

std::string CleanInline(std::string_view utf8) { return Clean(utf8, Whitespace::kCollapse, true); }

void TextBuilder::Paragraph(std::string_view raw, int group, Whitespace ws) {
  const std::string block = CleanText(raw, ws);
  if (block.empty()) return;
  const std::size_t begin = Append(block, group);
  if (sections_.empty()) OpenSection(begin, "");
}

void TextBuilder::Heading(int level, std::string_view raw) {
  std::string heading = CleanInline(raw);
  if (heading.empty()) return;
  while (!headings_.empty() && headings_.back().level >= level) headings_.pop_back();
  headings_.push_back(OpenHeading{level, heading});
  std::string path;
  for (const auto& h : headings_) {
    if (!path.empty()) path += " > ";
    path += h.text;
  }
  // A heading stands alone, like a paragraph: the next block gets a blank line.
  OpenSection(Append(heading, 0), std::move(path));
}

std::size_t TextBuilder::Append(const std::string& block, int group) {
  const bool tight = group != 0 && group == previous_block_group_;
  const std::size_t separator = text_.empty() ? 0 : (tight ? 1 : 2);
  if (text_.size() + separator + block.size() > max_text_bytes_) {
    Fail("TEXT_TOO_LARGE", "The extracted text exceeds " + std::to_string(max_text_bytes_) + " bytes.");
  }
  text_.append(separator, '\n');
  const std::size_t begin = text_.size();
  text_ += block;
  previous_block_group_ = group;
  if (page_open_ && !page_has_text_) {
    pages_.back().begin = begin;
    page_has_text_ = true;
  }
  return begin;
}

void TextBuilder::OpenSection(std::size_t begin, std::string heading_path) {
  // Sections are contiguous: the previous one runs up to this heading, separator included.
  if (!sections_.empty()) sections_.back().end = begin;
  sections_.push_back(Section{std::move(heading_path), begin, begin});
}

void TextBuilder::BeginPage(int page) {
  if (page_open_) EndPage();
  pages_.push_back(PageSpan{page, text_.size(), text_.size()});
  page_open_ = true;
  page_has_text_ = false;
}

void TextBuilder::EndPage() {
  if (!page_open_) return;
  if (!page_has_text_) pages_.back().begin = text_.size();
  pages_.back().end = text_.size();
  page_open_ = false;
}

void TextBuilder::Finish(ExtractedDocument& doc) {
  EndPage();
  if (text_.empty()) Fail("EMPTY_DOCUMENT", "The document contains no text.");
  sections_.back().end = text_.size();
  doc.text = std::move(text_);
  doc.sections = std::move(sections_);
  doc.pages = std::move(pages_);
}

void AddPlainText(TextBuilder& builder, std::string_view utf8) {
  // Lines end at \n, \r\n or \r; a line of ASCII whitespace ends a paragraph.
  std::size_t paragraph_begin = std::string_view::npos;
  std::size_t pos = 0;
  while (pos <= utf8.size()) {
    std::size_t end = utf8.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = utf8.size();
    const std::string_view line = utf8.substr(pos, end - pos);
    const bool blank = line.find_first_not_of(" \t\f\v") == std::string_view::npos;
    if (blank && paragraph_begin != std::string_view::npos) {
      builder.Paragraph(utf8.substr(paragraph_begin, pos - paragraph_begin));
      paragraph_begin = std::string_view::npos;
    } else if (!blank && paragraph_begin == std::string_view::npos) {
      paragraph_begin = pos;
    }
    if (end == utf8.size()) break;
    pos = end + ((utf8[end] == '\r' && end + 1 < utf8.size() && utf8[end + 1] == '\n') ? 2 : 1);
  }
  if (paragraph_begin != std::string_view::npos) builder.Paragraph(utf8.substr(paragraph_begin));
}

}  // namespace studio::extract::detail
