#include "ingest/extract/test_files.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <zip.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

// fontconfig, loaded by cairo's toy font API, leaks parts of its parsed configuration; that is not
// ours to fix, and LeakSanitizer would fail every test process that drew a PDF.
// NOLINTNEXTLINE(bugprone-reserved-identifier): the name is the sanitizer runtime's hook.
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }

namespace studio::extract::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/extract-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string TempDir::Path(std::string_view name) const { return dir_ + "/" + std::string(name); }

std::string TempDir::Write(std::string_view name, std::string_view bytes) const {
  std::string path = Path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WritePdf(const std::string& path, const PdfSpec& spec) {
  cairo_surface_t* surface = cairo_pdf_surface_create(path.c_str(), 595, 842);  // A4 in points
  if (!spec.title.empty()) cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, spec.title.c_str());
  if (!spec.author.empty()) cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, spec.author.c_str());
  if (!spec.created.empty()) {
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, spec.created.c_str());
  }
  if (!spec.modified.empty()) {
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, spec.modified.c_str());
  }
  cairo_t* cr = cairo_create(surface);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 14);
  for (const auto& lines : spec.pages) {
    // A rectangle on every page, so a page without text is still a drawn page.
    cairo_rectangle(cr, 20, 20, 40, 40);
    cairo_fill(cr);
    double y = 100;
    for (const auto& line : lines) {
      cairo_move_to(cr, 72, y);
      cairo_show_text(cr, line.c_str());
      y += 28;
    }
    cairo_show_page(cr);
  }
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  const cairo_status_t status = cairo_surface_status(surface);
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS) throw std::runtime_error(cairo_status_to_string(status));
}

std::string EncryptedPdf() {
  // Standard security handler, revision 2 (RC4-40). /O and /U are arbitrary bytes, so neither the
  // empty user password nor the empty owner password opens the file: poppler reports it locked.
  const std::string hex32(64, 'A');
  const std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
      "<< /Length 8 >>\nstream\n\x8f\x12\xa0\x33\x91\x07\x55\xee\nendstream",
      "<< /Filter /Standard /V 1 /R 2 /O <" + hex32 + "> /U <" + hex32 + "> /P -3904 >>",
  };
  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (const std::size_t offset : offsets) {
    char entry[32];
    std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
    pdf += entry;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
         " /Root 1 0 R /Encrypt 5 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>] "
         ">>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

namespace {

struct ZipCloser {
  zip_t* zip;
  ~ZipCloser() {
    if (zip != nullptr) zip_discard(zip);
  }
};

zip_t* OpenForWriting(const std::string& path) {
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (zip == nullptr) throw std::runtime_error("zip_open failed for " + path);
  return zip;
}

void Add(zip_t* zip, const std::string& name, zip_source_t* source) {
  if (source == nullptr) throw std::runtime_error("zip source failed");
  const zip_int64_t index = zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    zip_source_free(source);
    throw std::runtime_error("zip_file_add failed");
  }
  zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE, 1);
}

void AddEntries(zip_t* zip, const std::vector<ZipEntry>& entries) {
  for (const auto& e : entries) Add(zip, e.name, zip_source_buffer(zip, e.data.data(), e.data.size(), 0));
}

void Close(ZipCloser& closer) {
  if (zip_close(closer.zip) != 0) throw std::runtime_error(zip_strerror(closer.zip));
  closer.zip = nullptr;
}

// A libzip source that produces `size` zero bytes on demand.
struct Zeros {
  std::uint64_t size = 0;
  std::uint64_t offset = 0;
  zip_error_t error{};
};

zip_int64_t ZerosCallback(void* state, void* data, zip_uint64_t length, zip_source_cmd_t command) {
  auto* zeros = static_cast<Zeros*>(state);
  switch (command) {
    case ZIP_SOURCE_OPEN: zeros->offset = 0; return 0;
    case ZIP_SOURCE_READ: {
      const std::uint64_t n = std::min<std::uint64_t>(length, zeros->size - zeros->offset);
      std::memset(data, 0, n);
      zeros->offset += n;
      return static_cast<zip_int64_t>(n);
    }
    case ZIP_SOURCE_CLOSE: return 0;
    case ZIP_SOURCE_STAT: {
      auto* st = static_cast<zip_stat_t*>(data);
      zip_stat_init(st);
      st->size = zeros->size;
      st->valid |= ZIP_STAT_SIZE;
      return sizeof(zip_stat_t);
    }
    case ZIP_SOURCE_ERROR: return zip_error_to_data(&zeros->error, data, length);
    case ZIP_SOURCE_FREE: return 0;
    case ZIP_SOURCE_SUPPORTS: return ZIP_SOURCE_SUPPORTS_READABLE;
    default: zip_error_set(&zeros->error, ZIP_ER_OPNOTSUPP, 0); return -1;
  }
}

std::uint32_t Le32(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3])) << 24;
}

std::uint16_t Le16(const std::string& s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) | static_cast<unsigned char>(s[at + 1]) << 8);
}

void PutLe32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::string Escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void WriteZip(const std::string& path, const std::vector<ZipEntry>& entries) {
  ZipCloser closer{OpenForWriting(path)};
  AddEntries(closer.zip, entries);
  Close(closer);
}

void WriteZipWithZeros(const std::string& path, const std::vector<ZipEntry>& entries, const std::string& zeros_name,
                       std::uint64_t zero_bytes) {
  ZipCloser closer{OpenForWriting(path)};
  AddEntries(closer.zip, entries);
  Zeros zeros;
  zeros.size = zero_bytes;
  zip_error_init(&zeros.error);
  Add(closer.zip, zeros_name, zip_source_function(closer.zip, &ZerosCallback, &zeros));
  Close(closer);
  zip_error_fini(&zeros.error);
}

void ForgeDeclaredSize(const std::string& path, const std::string& name, std::uint32_t declared) {
  std::string zip = ReadFile(path);
  int patched = 0;
  // Central directory headers: PK\1\2, name length at 28, uncompressed size at 24, name at 46.
  for (std::size_t at = zip.find("PK\x01\x02"); at != std::string::npos; at = zip.find("PK\x01\x02", at + 4)) {
    if (zip.compare(at + 46, Le16(zip, at + 28), name) != 0 || Le16(zip, at + 28) != name.size()) continue;
    PutLe32(zip, at + 24, declared);
    // The entry's local header: PK\3\4, uncompressed size at 22.
    PutLe32(zip, Le32(zip, at + 42) + 22, declared);
    ++patched;
  }
  if (patched != 1) throw std::runtime_error("entry not found in the central directory: " + name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << zip;
}

std::string DocumentXml(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
         "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>" +
         body + "<w:sectPr/></w:body></w:document>";
}

std::string CoreXml(const std::string& title, const std::string& creator, const std::string& created,
                    const std::string& modified, const std::string& language) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
         "<cp:coreProperties "
         "xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" "
         "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" "
         "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
         "<dc:title>" +
         Escape(title) + "</dc:title><dc:creator>" + Escape(creator) + "</dc:creator><dc:language>" + Escape(language) +
         "</dc:language><dcterms:created xsi:type=\"dcterms:W3CDTF\">" + created +
         "</dcterms:created><dcterms:modified xsi:type=\"dcterms:W3CDTF\">" + modified +
         "</dcterms:modified></cp:coreProperties>";
}

std::string Para(const std::string& text, const std::string& style) {
  std::string p = "<w:p>";
  if (!style.empty()) p += "<w:pPr><w:pStyle w:val=\"" + style + "\"/></w:pPr>";
  return p + "<w:r><w:t xml:space=\"preserve\">" + Escape(text) + "</w:t></w:r></w:p>";
}

std::vector<ZipEntry> DocxParts(const std::string& body, const std::string& core_xml, const std::string& styles_xml) {
  std::vector<ZipEntry> parts;
  parts.push_back(
      {"[Content_Types].xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
       "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
       "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
       "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
       "<Override PartName=\"/word/document.xml\" "
       "ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>"
       "<Override PartName=\"/docProps/core.xml\" "
       "ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>"
       "</Types>"});
  parts.push_back({"_rels/.rels",
                   "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                   "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                   "<Relationship Id=\"rId1\" "
                   "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
                   "Target=\"word/document.xml\"/>"
                   "<Relationship Id=\"rId2\" "
                   "Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" "
                   "Target=\"docProps/core.xml\"/>"
                   "</Relationships>"});
  parts.push_back({"word/document.xml", DocumentXml(body)});
  if (!core_xml.empty()) parts.push_back({"docProps/core.xml", core_xml});
  if (!styles_xml.empty()) parts.push_back({"word/styles.xml", styles_xml});
  return parts;
}

}  // namespace studio::extract::testing
