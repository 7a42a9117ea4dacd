#pragma once
// Test documents, generated rather than checked in: PDFs drawn with cairo, DOCX archives assembled
// with libzip, and hostile variants of both.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/extract/extract.hpp"

namespace studio::extract::testing {

/// The code of the ExtractError that `fn` throws, or "" when it throws none.
template <typename Fn>
std::string ErrorCode(Fn&& fn) {
  try {
    fn();
  } catch (const ExtractError& e) {
    return e.code();
  }
  return "";
}

/// A fresh directory under $TMPDIR (or /tmp), removed with its files.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string Path(std::string_view name) const;
  /// Writes `bytes` to a file named `name` and returns its path.
  std::string Write(std::string_view name, std::string_view bytes) const;

 private:
  std::string dir_;
};

std::string ReadFile(const std::string& path);

struct PdfSpec {
  std::vector<std::vector<std::string>> pages;  // lines of text per page (a page may have none)
  std::string title;
  std::string author;
  std::string created;  // ISO-8601, e.g. "2024-01-02T03:04:05Z"
  std::string modified;
};
/// A real PDF drawn with cairo (DejaVu Sans, one line of text per entry).
void WritePdf(const std::string& path, const PdfSpec& spec);

/// A hand-written one-page PDF protected by the standard security handler with a user password,
/// so it cannot be opened without one (cairo cannot encrypt).
std::string EncryptedPdf();

struct ZipEntry {
  std::string name;
  std::string data;
};
void WriteZip(const std::string& path, const std::vector<ZipEntry>& entries);
/// `entries` plus an entry `zeros_name` of `zero_bytes` zero bytes, deflated from a streamed
/// source so the test never holds it in memory.
void WriteZipWithZeros(const std::string& path, const std::vector<ZipEntry>& entries, const std::string& zeros_name,
                       std::uint64_t zero_bytes);
/// Rewrites the uncompressed size that the local and central headers of `name` declare.
void ForgeDeclaredSize(const std::string& path, const std::string& name, std::uint32_t declared);

/// The parts of a minimal valid DOCX: `body` goes inside <w:body>; empty strings leave a part out.
std::vector<ZipEntry> DocxParts(const std::string& body, const std::string& core_xml = "",
                                const std::string& styles_xml = "");
std::string DocumentXml(const std::string& body);
std::string CoreXml(const std::string& title, const std::string& creator, const std::string& created,
                    const std::string& modified, const std::string& language);
/// A w:p with the given style id (none when empty) and plain text runs.
std::string Para(const std::string& text, const std::string& style = "");

}  // namespace studio::extract::testing
