// Extract(): limits common to all formats, then one extractor per format.

#include "ingest/extract/extract.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>
#include <utility>

#include "ingest/extract/internal.hpp"

namespace studio::extract {

ExtractError::ExtractError(std::string code, const std::string& message, bool permanent)
    : std::runtime_error(message), code_(std::move(code)), permanent_(permanent) {}

std::string_view FormatName(Format format) {
  switch (format) {
    case Format::kPdf: return "pdf";
    case Format::kDocx: return "docx";
    case Format::kHtml: return "html";
    case Format::kMarkdown: return "markdown";
    case Format::kText: return "text";
  }
  return "unknown";
}

namespace detail {

void Fail(std::string code, const std::string& message, bool permanent) {
  throw ExtractError(std::move(code), message, permanent);
}

void InitLibraries() {
  static std::once_flag once;
  std::call_once(once, [] {
    InitXmlLibrary();
    InitPdfLibrary();
    // Loads ICU's normalisation data now rather than in a forked child.
    CleanInline("x");
  });
}

namespace {

// A missing file will not reappear; other I/O errors (EIO, EMFILE) may be transient.
[[noreturn]] void FailIo(const std::string& what, int error) {
  Fail("IO_ERROR", what + ": " + std::strerror(error), error == ENOENT);
}

std::uint64_t FileSize(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    FailIo("cannot read the uploaded file", error);
  }
  if (!S_ISREG(st.st_mode)) Fail("IO_ERROR", "the upload is not a regular file");
  return static_cast<std::uint64_t>(st.st_size);
}

void CheckSize(std::uint64_t size, std::uint64_t max_bytes) {
  if (size > max_bytes) {
    Fail("FILE_TOO_LARGE", "The file is larger than " + std::to_string(max_bytes) + " bytes.");
  }
}

}  // namespace

std::string ReadFileLimited(const std::string& path, std::uint64_t max_bytes) {
  CheckSize(FileSize(path), max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    FailIo("cannot open the uploaded file", error);
  }
  std::string data;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    data.append(buffer, static_cast<std::size_t>(in.gcount()));
    // The file may have grown since stat().
    CheckSize(data.size(), max_bytes);
  }
  if (in.bad()) Fail("IO_ERROR", "cannot read the uploaded file", false);
  return data;
}

}  // namespace detail

ExtractedDocument Extract(const std::string& path, Format format, const ExtractLimits& limits) {
  detail::InitLibraries();
  const std::uint64_t size = detail::FileSize(path);
  detail::CheckSize(size, limits.max_bytes);
  if (size == 0) detail::Fail("EMPTY_DOCUMENT", "The file is empty.");

  ExtractedDocument doc;
  doc.format = format;
  try {
    switch (format) {
      case Format::kPdf: detail::ExtractPdf(path, limits, doc); break;
      case Format::kDocx: detail::ExtractDocx(path, limits, doc); break;
      case Format::kHtml: detail::ExtractHtml(path, limits, doc); break;
      case Format::kMarkdown: detail::ExtractMarkdown(path, limits, doc); break;
      case Format::kText: detail::ExtractText(path, limits, doc); break;
    }
  } catch (const ExtractError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;  // not the document's fault in-process; ExtractIsolated reports it for the child
  } catch (const std::exception& e) {
    throw ExtractError("INTERNAL", std::string("extraction failed: ") + e.what(), false);
  }
  return doc;
}

}  // namespace studio::extract
