// PDF with poppler-cpp: metadata, then the text of each page (reading order) with its span.

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>

#include <ctime>
#include <memory>
#include <string>

#include "ingest/extract/internal.hpp"

namespace studio::extract::detail {
namespace {

// Poppler reports every damaged object of a hostile file on stderr; the caller gets a typed error.
void DiscardPopplerMessage(const std::string& /*message*/, void* /*closure*/) {}

std::string Utf8(const poppler::ustring& s) {
  const poppler::byte_array bytes = s.to_utf8();
  return std::string(bytes.begin(), bytes.end());
}

std::string IsoDate(time_t t) {
  if (t <= 0) return "";  // poppler returns (time_t)-1 when the date is missing or unparsable
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buffer[32];
  if (std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "";
  return buffer;
}

}  // namespace

void InitPdfLibrary() { poppler::set_debug_error_function(&DiscardPopplerMessage, nullptr); }

void ExtractPdf(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc) {
  // load_from_file reads objects lazily; only the pages we ask for are parsed.
  std::unique_ptr<poppler::document> pdf(poppler::document::load_from_file(path));
  // poppler-cpp returns a (locked) document only for the "encrypted" error; any other failure
  // to open (no header, no usable xref, no catalog) comes back as nullptr.
  if (!pdf) Fail("MALFORMED_PDF", "The PDF could not be parsed.");
  if (pdf->is_locked()) Fail("ENCRYPTED_PDF", "The PDF is password-protected.");

  const int pages = pdf->pages();
  if (pages <= 0) Fail("MALFORMED_PDF", "The PDF has no pages.");
  if (pages > limits.max_pages) {
    Fail("TOO_MANY_PAGES", "The PDF has " + std::to_string(pages) + " pages; at most " +
                               std::to_string(limits.max_pages) + " are accepted.");
  }
  doc.page_count = pages;
  doc.title = CleanInline(Utf8(pdf->info_key("Title")));
  doc.author = CleanInline(Utf8(pdf->info_key("Author")));
  doc.created = IsoDate(pdf->info_date_t("CreationDate"));
  doc.modified = IsoDate(pdf->info_date_t("ModDate"));

  TextBuilder builder(limits.max_text_bytes);
  for (int i = 0; i < pages; ++i) {
    builder.BeginPage(i + 1);
    std::unique_ptr<poppler::page> page(pdf->create_page(i));
    // An unreadable page yields an empty span rather than failing the whole document.
    if (page) {
      AddPlainText(builder, Utf8(page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout)));
    }
    builder.EndPage();
  }
  builder.Finish(doc);
}

}  // namespace studio::extract::detail
