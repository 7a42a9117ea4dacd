// Format detection: content first (libmagic, plus a look inside ZIPs), then the declared name and
// content type to tell text, Markdown and HTML apart.

#include <magic.h>
#include <zip.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "ingest/extract/internal.hpp"

namespace studio::extract {
namespace {

// libmagic needs only the start of a file; 64 KiB covers every signature we care about.
constexpr std::size_t kSniffBytes = std::size_t{64} * 1024;
// Poppler, like Acrobat, accepts a PDF header anywhere in the first 1024 bytes.
constexpr std::size_t kPdfHeaderWindow = 1024;
constexpr std::string_view kDocumentPart = "word/document.xml";

// One magic cookie, loaded once. A magic_t is not thread-safe, and detection is a short call on a
// small buffer, so a mutex is simpler than a cookie (and a database load) per thread.
class Magic {
 public:
  Magic() {
    // NO_CHECK_COMPRESS: never look inside compressed data (older libmagic forks decompressors).
    cookie_ = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF);
    if (cookie_ != nullptr && magic_load(cookie_, nullptr) != 0) {
      magic_close(cookie_);
      cookie_ = nullptr;
    }
  }
  ~Magic() {
    if (cookie_ != nullptr) magic_close(cookie_);
  }
  Magic(const Magic&) = delete;
  Magic& operator=(const Magic&) = delete;

  std::string MimeType(std::string_view bytes) {
    std::lock_guard lock(mu_);
    if (cookie_ == nullptr) detail::Fail("INTERNAL", "the libmagic database could not be loaded", false);
    const char* mime = magic_buffer(cookie_, bytes.data(), bytes.size());
    return mime == nullptr ? "application/octet-stream" : mime;
  }

 private:
  std::mutex mu_;
  magic_t cookie_ = nullptr;  // guarded by mu_
};

Magic& TheMagic() {
  static Magic magic;
  return magic;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::optional<Format> FromExtension(std::string_view filename) {
  const std::size_t dot = filename.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string ext = Lower(filename.substr(dot + 1));
  if (ext == "md" || ext == "markdown" || ext == "mdown" || ext == "mkd" || ext == "mkdn") return Format::kMarkdown;
  if (ext == "html" || ext == "htm" || ext == "xhtml") return Format::kHtml;
  if (ext == "txt" || ext == "text") return Format::kText;
  return std::nullopt;
}

std::optional<Format> FromContentType(std::string_view content_type) {
  std::string type = Lower(content_type.substr(0, content_type.find(';')));
  type.erase(type.find_last_not_of(" \t") + 1);
  type.erase(0, type.find_first_not_of(" \t"));
  if (type == "text/markdown" || type == "text/x-markdown") return Format::kMarkdown;
  if (type == "text/html" || type == "application/xhtml+xml") return Format::kHtml;
  if (type == "text/plain") return Format::kText;
  return std::nullopt;
}

bool IsTextMime(std::string_view mime) {
  if (mime == "text/rtf") return false;  // markup we do not parse; its control words are not text
  return StartsWith(mime, "text/") || mime == "application/json" || mime == "application/xml" ||
         mime == "application/javascript" || mime == "application/x-ndjson";
}

bool IsZipMime(std::string_view mime) {
  return mime == "application/zip" || mime == "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
}

bool LooksBinary(std::string_view head) {
  // The sniffed prefix may end inside a UTF-8 sequence.
  const std::string_view whole = head.substr(0, head.size() - std::min<std::size_t>(head.size(), 3));
  return head.find('\0') != std::string_view::npos || !detail::IsValidUtf8(whole);
}

// The text family: the declared extension, then the declared type, then what libmagic saw.
Format TextFamily(std::string_view mime, std::string_view filename, std::string_view content_type) {
  if (const auto f = FromExtension(filename)) return *f;
  if (const auto f = FromContentType(content_type)) return *f;
  if (mime == "text/html") return Format::kHtml;
  return Format::kText;
}

bool ZipHasDocumentPart(zip_t* zip) {
  const bool found = zip_name_locate(zip, std::string(kDocumentPart).c_str(), ZIP_FL_NOCASE) >= 0;
  zip_discard(zip);
  return found;
}

// From a file: the central directory says whether word/document.xml exists.
bool IsDocxFile(const std::string& path) {
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_RDONLY, &error);
  return zip != nullptr && ZipHasDocumentPart(zip);
}

// From bytes: the same when they are the whole archive; for a prefix (no central directory), the
// part's name in a local file header.
bool IsDocxBytes(std::string_view bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  zip_t* zip = source == nullptr ? nullptr : zip_open_from_source(source, ZIP_RDONLY, &error);
  zip_error_fini(&error);
  if (zip != nullptr) return ZipHasDocumentPart(zip);
  if (source != nullptr) zip_source_free(source);
  return bytes.find(kDocumentPart) != std::string_view::npos;
}

template <typename IsDocx>
Format Detect(std::string_view head, std::string_view filename, std::string_view content_type, IsDocx is_docx) {
  // Nothing to sniff: go by the name (extraction will report EMPTY_DOCUMENT).
  if (head.empty()) return TextFamily("", filename, content_type);

  const std::string mime = TheMagic().MimeType(head);
  if (const std::size_t header = head.substr(0, kPdfHeaderWindow).find("%PDF-"); header != std::string_view::npos) {
    // libmagic, like poppler, accepts the header after some junk; but a note that quotes
    // "%PDF-1.7" is still a note. Real PDFs have binary bytes early (the marker comment, streams).
    if (header == 0 || LooksBinary(head)) return Format::kPdf;
    return TextFamily(mime, filename, content_type);
  }
  if (IsZipMime(mime) || StartsWith(head, "PK\x03\x04")) {
    if (is_docx()) return Format::kDocx;
    throw UnsupportedMediaType("The file is a ZIP archive but not a Word (DOCX) document.");
  }
  if (IsTextMime(mime)) return TextFamily(mime, filename, content_type);
  // libmagic's weaker rules match patterns in plain text too (a manual page that starts with
  // "IN" is an "HP-GL plotter file" to it); valid UTF-8 without NUL bytes is text whatever it says.
  if (mime != "text/rtf" && !LooksBinary(head)) return TextFamily(mime, filename, content_type);
  throw UnsupportedMediaType("Unsupported file type (" + mime + "); upload PDF, DOCX, HTML, Markdown or plain text.");
}

}  // namespace

Format DetectFormat(const std::string& path, std::string_view declared_filename, std::string_view content_type) {
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::Fail("IO_ERROR", std::string("cannot open the uploaded file: ") + std::strerror(errno), false);
  std::string head(kSniffBytes, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (in.bad()) detail::Fail("IO_ERROR", "cannot read the uploaded file", false);
  head.resize(static_cast<std::size_t>(in.gcount()));
  return Detect(head, declared_filename, content_type, [&] { return IsDocxFile(path); });
}

Format DetectFormatFromBytes(std::string_view bytes, std::string_view declared_filename,
                             std::string_view content_type) {
  return Detect(bytes.substr(0, kSniffBytes), declared_filename, content_type, [&] { return IsDocxBytes(bytes); });
}

}  // namespace studio::extract
