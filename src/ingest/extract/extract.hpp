#pragma once
// Text extraction: an uploaded file (bytes on disk) becomes UTF-8 NFC text with its heading
// structure, page spans and metadata.
//
//   Format f = DetectFormat(path, "report.pdf", "application/pdf");   // may throw UnsupportedMediaType (415)
//   ExtractedDocument d = ExtractIsolated(path, f, ExtractLimits{});   // throws ExtractError
//
// Every input is treated as hostile: sizes, page counts, ZIP archives and XML entities are bounded
// or refused, and ExtractIsolated runs the parsers in a child process so a parser crash cannot take
// the server down.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace studio::extract {

struct ExtractLimits {
  /// Largest input file accepted.
  std::uint64_t max_bytes = 50ull << 20;
  /// PDFs with more pages are refused before any text is extracted.
  int max_pages = 2000;
  /// DOCX (ZIP) archives: checked from the central directory before anything is inflated.
  std::uint64_t max_zip_entries = 1000;
  std::uint64_t max_uncompressed_bytes = 200ull << 20;
  /// Uncompressed : compressed size. Applied to entries (and archives) larger than
  /// `ratio_check_min_bytes`, because tiny XML parts legitimately compress very well.
  std::uint64_t max_compression_ratio = 100;
  std::uint64_t ratio_check_min_bytes = 1ull << 20;
  /// Largest extracted text (UTF-8 bytes).
  std::uint64_t max_text_bytes = 32ull << 20;
};

enum class Format { kPdf, kDocx, kHtml, kMarkdown, kText };

/// "pdf", "docx", "html", "markdown", "text".
std::string_view FormatName(Format format);

/// Detects the format of the file at `path` from its content (libmagic), then from the declared
/// filename extension and content type. Content wins for binary formats: a PDF named .txt is a
/// PDF, a text file named .pdf is text; the extension and content type only choose between text,
/// Markdown and HTML. An empty file is judged by its name (extraction then fails with
/// EMPTY_DOCUMENT). Throws studio::UnsupportedMediaType for any other binary type (a ZIP that is
/// not a Word document, images, executables, ...) and ExtractError{"IO_ERROR"} if unreadable.
Format DetectFormat(const std::string& path, std::string_view declared_filename, std::string_view content_type);
/// The same for bytes in memory (e.g. the first part of an upload). With only a prefix of a ZIP,
/// a DOCX is recognised from its local file headers.
Format DetectFormatFromBytes(std::string_view bytes, std::string_view declared_filename, std::string_view content_type);

/// A run of text under one heading path, heading included. Sections follow each other without gaps
/// or overlaps and together cover the whole text.
struct Section {
  /// Headings from the outermost down, joined by " > " ("Install > Linux"); "" before the first heading.
  std::string heading_path;
  std::size_t begin = 0;  // byte offsets into ExtractedDocument::text, [begin, end)
  std::size_t end = 0;
};

/// The text of one PDF page (1-based); begin == end for a page without text.
struct PageSpan {
  int page = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

struct ExtractedDocument {
  Format format = Format::kText;
  /// UTF-8, NFC; paragraphs separated by one blank line, no control characters but \n and \t.
  std::string text;
  std::vector<Section> sections;
  std::vector<PageSpan> pages;  // PDF only
  std::string title;
  std::string author;
  std::string created;   // ISO-8601 when known
  std::string modified;  // ISO-8601 when known
  std::string language;  // e.g. "en", "de-DE" when the document says
  int page_count = 0;    // PDF only
  /// The input's character encoding (text, Markdown, HTML), e.g. "UTF-8", "UTF-16LE", "windows-1252".
  std::string detected_encoding;
};

/// An extraction failure. `code` is machine-readable: ENCRYPTED_PDF, MALFORMED_PDF, MALFORMED_DOCX,
/// ZIP_BOMB, TOO_MANY_PAGES, FILE_TOO_LARGE, TEXT_TOO_LARGE, EMPTY_DOCUMENT, UNSUPPORTED_FORMAT,
/// XML_ENTITY_REFUSED, PARSER_CRASHED, PARSER_TIMEOUT, IO_ERROR, INTERNAL.
/// `permanent` means retrying the same file cannot succeed (send the job to the dead-letter queue).
class ExtractError : public std::runtime_error {
 public:
  ExtractError(std::string code, const std::string& message, bool permanent = true);
  const std::string& code() const { return code_; }
  bool permanent() const { return permanent_; }

 private:
  std::string code_;
  bool permanent_;
};

/// Extracts in the calling process. Throws ExtractError.
ExtractedDocument Extract(const std::string& path, Format format, const ExtractLimits& limits);

struct IsolationOptions {
  /// Address space the child may add to what it inherited (RLIMIT_AS = inherited + this). Not
  /// applied in AddressSanitizer builds, whose shadow memory reserves terabytes.
  std::uint64_t address_space_bytes = 1ull << 30;
  /// RLIMIT_CPU of the child.
  int cpu_seconds = 30;
  /// Wall-clock limit; catches a child that blocks without using CPU.
  std::chrono::milliseconds wall_timeout{60'000};
  /// The child proves it can allocate and run (a byte on the result pipe) before it parses. One
  /// that stays silent this long is taken to have inherited a lock another thread held at fork
  /// time; it is killed and a fresh child is forked, up to `start_attempts` children in all.
  std::chrono::milliseconds start_timeout{5'000};
  int start_attempts = 3;
  /// A child that started but has no result after this long is also replaced (within
  /// `start_attempts` and `wall_timeout`). -1: 15 s in AddressSanitizer builds, whose allocator has
  /// no fork handlers, so a child can hang on an inherited lock in any allocation, not only its
  /// first ones; never otherwise (glibc and jemalloc are fork-safe).
  std::chrono::milliseconds stall_timeout{-1};
  /// Tests only: runs in the child before extracting (e.g. to crash it on purpose).
  void (*child_hook)() = nullptr;
  /// Tests only: runs in the child before its proof of life (e.g. to hang one child).
  void (*start_hook)() = nullptr;
};

/// Extract() in a forked child process with resource limits; the result comes back over a pipe.
/// A child that crashes or runs out of memory yields ExtractError{"PARSER_CRASHED"}, one that runs
/// out of time ExtractError{"PARSER_TIMEOUT"} (both permanent); ExtractErrors raised in the child
/// are rethrown as they were.
ExtractedDocument ExtractIsolated(const std::string& path, Format format, const ExtractLimits& limits,
                                  const IsolationOptions& options = {});

}  // namespace studio::extract
