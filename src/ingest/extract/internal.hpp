#pragma once
// Helpers shared by the extractors (not part of the public API).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/extract/extract.hpp"

namespace studio::extract::detail {

[[noreturn]] void Fail(std::string code, const std::string& message, bool permanent = true);

/// One-time process-wide set-up of the parser libraries (libxml2, poppler's error sink, ICU's
/// normaliser). Idempotent and thread-safe. ExtractIsolated calls it in the parent before fork so
/// the child never has to take a library's initialisation lock.
void InitLibraries();

/// The whole file; FILE_TOO_LARGE above max_bytes, IO_ERROR when unreadable.
std::string ReadFileLimited(const std::string& path, std::uint64_t max_bytes);

// ---- Normalisation (normalize.cpp) ----

enum class Whitespace {
  kCollapse,  // runs of spaces/tabs become one space; lines trimmed (prose)
  kPreserve,  // spaces and tabs kept; only trailing whitespace dropped (code, <pre>)
};

/// CR/CRLF -> LF, control characters other than \n and \t removed (also U+FEFF, soft hyphens and
/// noncharacters), whitespace per `ws`, at most one blank line in a row, no leading or trailing
/// blank lines, then NFC. Invalid UTF-8 becomes U+FFFD.
std::string CleanText(std::string_view utf8, Whitespace ws);
/// CleanText on one line: every whitespace run (newlines too) becomes one space. For headings,
/// titles and metadata values.
std::string CleanInline(std::string_view utf8);

/// Builds ExtractedDocument::text block by block, tracking section and page offsets in the final
/// (cleaned) text. Each block is cleaned on its own, so offsets never shift afterwards.
class TextBuilder {
 public:
  explicit TextBuilder(std::uint64_t max_text_bytes) : max_text_bytes_(max_text_bytes) {}

  /// A fresh id for a group of lines (table rows, list items): consecutive blocks of the same group
  /// are separated by one newline, all other blocks by a blank line. Group 0 means "no group".
  int NewGroup() { return ++last_group_; }
  /// Appends a paragraph (skipped when it cleans to nothing).
  void Paragraph(std::string_view raw, int group = 0, Whitespace ws = Whitespace::kCollapse);
  /// Appends a heading and starts a section. Level 0 (a document title) is above level 1.
  void Heading(int level, std::string_view raw);
  void BeginPage(int page);
  void EndPage();

  bool empty() const { return text_.empty(); }
  /// Moves text, sections and pages into `doc`; EMPTY_DOCUMENT when there is no text.
  void Finish(ExtractedDocument& doc);
  /// The text alone (may be empty).
  std::string TakeText() { return std::move(text_); }

 private:
  struct OpenHeading {
    int level;
    std::string text;
  };
  // Appends a cleaned block with its separator; returns the block's offset.
  std::size_t Append(const std::string& block, int group);
  void OpenSection(std::size_t begin, std::string heading_path);

  std::uint64_t max_text_bytes_;
  std::string text_;
  int last_group_ = 0;
  int previous_block_group_ = 0;
  std::vector<OpenHeading> headings_;
  std::vector<Section> sections_;
  std::vector<PageSpan> pages_;
  bool page_open_ = false;
  bool page_has_text_ = false;
};

/// Plain UTF-8 text: paragraphs split at blank lines, line breaks inside a paragraph kept.
void AddPlainText(TextBuilder& builder, std::string_view utf8);

// ---- Encodings (text.cpp) ----

struct Decoded {
  std::string utf8;
  std::string encoding;  // what was used to decode, e.g. "UTF-8", "UTF-16LE", "windows-1252"
};
/// Bytes in an unknown encoding to UTF-8: a BOM wins, then `declared` (e.g. an HTML meta charset)
/// if ICU knows it, then valid UTF-8, then uchardet's guess. Undecodable bytes become U+FFFD.
Decoded DecodeToUtf8(std::string_view bytes, std::string_view declared = {});
bool IsValidUtf8(std::string_view bytes);

// ---- Extractors (one file each) ----

void ExtractPdf(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc);
void ExtractDocx(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc);
void ExtractHtml(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc);
void ExtractMarkdown(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc);
void ExtractText(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc);

/// The visible text of an HTML fragment (Markdown's raw HTML blocks).
std::string HtmlFragmentToText(std::string_view html, std::uint64_t max_text_bytes);

/// Per-library one-time set-up, called from InitLibraries().
void InitPdfLibrary();
void InitXmlLibrary();

}  // namespace studio::extract::detail
