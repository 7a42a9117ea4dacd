// Plain text: encoding detection (BOM, uchardet) and conversion to UTF-8 (ICU). Also used by the
// Markdown and HTML extractors for their raw bytes.

#include <uchardet/uchardet.h>
#include <unicode/ucnv.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <memory>
#include <string>

#include "ingest/extract/internal.hpp"

namespace studio::extract::detail {
namespace {

// uchardet gets enough of a large file to decide; the rest only costs time.
constexpr std::size_t kDetectSampleBytes = 1 << 20;

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Labels that browsers (WHATWG Encoding) decode as windows-1252, a superset whose 0x80-0x9F are
// printable (curly quotes, dashes) instead of C1 controls.
std::string CanonicalCharset(std::string_view name) {
  const std::string lower = Lower(name);
  if (lower == "iso-8859-1" || lower == "iso8859-1" || lower == "latin1" || lower == "latin-1" || lower == "us-ascii" ||
      lower == "ascii" || lower == "windows-1252" || lower == "cp1252") {
    return "windows-1252";
  }
  if (lower == "utf8" || lower == "utf-8") return "UTF-8";
  return std::string(name);
}

bool IcuKnows(const std::string& charset) {
  UErrorCode status = U_ZERO_ERROR;
  UConverter* converter = ucnv_open(charset.c_str(), &status);
  if (converter != nullptr) ucnv_close(converter);
  return U_SUCCESS(status) && converter != nullptr;
}

// Undecodable input becomes U+FFFD (ICU's default substitution callback), never an error.
std::string Convert(std::string_view bytes, const std::string& charset) {
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX)) Fail("FILE_TOO_LARGE", "The file is too large.");
  const icu::UnicodeString unicode(bytes.data(), static_cast<int32_t>(bytes.size()), charset.c_str());
  if (unicode.isBogus()) Fail("INTERNAL", "conversion from " + charset + " failed", false);
  std::string out;
  unicode.toUTF8String(out);
  return out;
}

std::string Guess(std::string_view bytes) {
  std::unique_ptr<uchardet, decltype(&uchardet_delete)> detector(uchardet_new(), &uchardet_delete);
  if (!detector) Fail("INTERNAL", "uchardet_new failed", false);
  const std::string_view sample = bytes.substr(0, kDetectSampleBytes);
  if (uchardet_handle_data(detector.get(), sample.data(), sample.size()) != 0) return "";
  uchardet_data_end(detector.get());
  const char* charset = uchardet_get_charset(detector.get());
  return charset == nullptr ? "" : charset;
}

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  const auto* s = reinterpret_cast<const uint8_t*>(bytes.data());
  const std::size_t length = bytes.size();
  std::size_t i = 0;
  while (i < length) {
    if (s[i] < 0x80) {  // ASCII fast path
      ++i;
      continue;
    }
    // U8_NEXT takes int32 lengths; feed it a window that always holds one whole sequence.
    const std::size_t window = std::min<std::size_t>(length - i, 8);
    int32_t j = 0;
    UChar32 c = 0;
    U8_NEXT(s + i, j, static_cast<int32_t>(window), c);
    if (c < 0) return false;
    i += static_cast<std::size_t>(j);
  }
  return true;
}

Decoded DecodeToUtf8(std::string_view bytes, std::string_view declared) {
  // Byte order marks are unambiguous and win over everything (as in browsers).
  struct Bom {
    std::string_view bytes;
    const char* charset;
  };
  static constexpr Bom kBoms[] = {
      {std::string_view("\xEF\xBB\xBF", 3), "UTF-8"},        {std::string_view("\xFF\xFE\x00\x00", 4), "UTF-32LE"},
      {std::string_view("\x00\x00\xFE\xFF", 4), "UTF-32BE"}, {std::string_view("\xFF\xFE", 2), "UTF-16LE"},
      {std::string_view("\xFE\xFF", 2), "UTF-16BE"},
  };
  for (const auto& bom : kBoms) {
    if (!StartsWith(bytes, bom.bytes)) continue;
    return Decoded{Convert(bytes.substr(bom.bytes.size()), bom.charset), bom.charset};
  }

  if (!declared.empty()) {
    std::string charset = CanonicalCharset(declared);
    // A document that says UTF-16 without a BOM is really ASCII-compatible (it was parsed to find
    // the declaration): browsers treat it as UTF-8, and so do we.
    if (StartsWith(Lower(charset), "utf-16") || StartsWith(Lower(charset), "utf-32")) charset = "UTF-8";
    if (charset == "UTF-8" && IsValidUtf8(bytes)) return Decoded{std::string(bytes), "UTF-8"};
    if (IcuKnows(charset)) return Decoded{Convert(bytes, charset), charset};
  }

  if (IsValidUtf8(bytes)) return Decoded{std::string(bytes), "UTF-8"};

  std::string charset = CanonicalCharset(Guess(bytes));
  if (charset.empty() || !IcuKnows(charset)) charset = "windows-1252";
  return Decoded{Convert(bytes, charset), charset};
}

void ExtractText(const std::string& path, const ExtractLimits& limits, ExtractedDocument& doc) {
  const Decoded decoded = DecodeToUtf8(ReadFileLimited(path, limits.max_bytes));
  doc.detected_encoding = decoded.encoding;
  TextBuilder builder(limits.max_text_bytes);
  AddPlainText(builder, decoded.utf8);
  builder.Finish(doc);
}

}  // namespace studio::extract::detail
