#include "search/embed/words.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf8.h>

#include <array>
#include <climits>
#include <cstdint>
#include <stdexcept>

namespace studio::search {
namespace {

bool IsHyphen(UChar32 c) { return c == '-' || c == 0x2010 || c == 0x2011; }
bool IsApostrophe(UChar32 c) { return c == '\'' || c == 0x2019; }
bool IsMark(UChar32 c) { return (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0; }

void AppendUtf8(std::string& out, UChar32 c) {
  std::array<char, U8_MAX_LENGTH> buf{};
  int32_t n = 0;
  UBool error = false;
  U8_APPEND(buf.data(), n, U8_MAX_LENGTH, c, error);
  if (!error) out.append(buf.data(), static_cast<std::size_t>(n));
}

// Appends the lower-case, accent-free form of a letter or digit.
void AppendFolded(std::string& out, UChar32 c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    return;
  }
  UErrorCode status = U_ZERO_ERROR;
  static const UNormalizer2* const nfd = unorm2_getNFDInstance(&status);
  std::array<UChar, 32> decomposed{};
  int32_t length = -1;
  if (nfd != nullptr) {
    status = U_ZERO_ERROR;
    length = unorm2_getDecomposition(nfd, c, decomposed.data(), static_cast<int32_t>(decomposed.size()), &status);
    if (U_FAILURE(status)) length = -1;
  }
  if (length < 0) {  // no decomposition
    AppendUtf8(out, u_tolower(c));
    return;
  }
  for (int32_t i = 0; i < length;) {
    UChar32 part = 0;
    U16_NEXT(decomposed.data(), i, length, part);
    if (!IsMark(part)) AppendUtf8(out, u_tolower(part));
  }
}

// Resolves apostrophes (see words.hpp) and appends the resulting words.
void Emit(std::string& word, std::vector<std::string>& out) {
  if (word.empty()) return;
  const auto apostrophe = word.find('\'');
  if (apostrophe == std::string::npos) {
    out.push_back(std::move(word));
    word.clear();
    return;
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t pos = apostrophe; pos != std::string::npos; pos = word.find('\'', start)) {
    parts.push_back(word.substr(start, pos - start));
    start = pos + 1;
  }
  parts.push_back(word.substr(start));
  word.clear();
  if (parts.size() == 2) {
    const std::string& head = parts[0];
    const std::string& tail = parts[1];
    if (tail == "t" && head.size() > 1 && head.back() == 'n') {
      if (head == "can") {
        out.emplace_back("can");
      } else if (head == "won") {
        out.emplace_back("will");
      } else if (head == "shan") {
        out.emplace_back("shall");
      } else {
        out.push_back(head.substr(0, head.size() - 1));
      }
      out.emplace_back("not");
      return;
    }
    if (tail == "s" || tail == "re" || tail == "ll" || tail == "ve" || tail == "d" || tail == "m") {
      out.push_back(head);
      return;
    }
  }
  for (auto& part : parts) out.push_back(std::move(part));
}

}  // namespace

std::vector<std::string> SplitWords(std::string_view text) {
  if (text.size() >= static_cast<std::size_t>(INT32_MAX)) throw std::invalid_argument("text too long to embed");
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const auto length = static_cast<int32_t>(text.size());
  std::vector<std::string> words;
  std::string current;
  char joiner = 0;  // a hyphen or apostrophe after `current`, kept only if a word character follows
  for (int32_t i = 0; i < length;) {
    UChar32 c = 0;
    U8_NEXT(s, i, length, c);
    if (c >= 0 && (c < 0x80 ? ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') : u_isalnum(c))) {
      if (joiner != 0) current.push_back(joiner);
      joiner = 0;
      AppendFolded(current, c);
    } else if (c >= 0x80 && IsMark(c) && !current.empty() && joiner == 0) {
      // A combining accent on the previous letter: dropped, like the accents of precomposed letters.
    } else if ((IsHyphen(c) || IsApostrophe(c)) && !current.empty() && joiner == 0) {
      joiner = IsHyphen(c) ? '-' : '\'';
    } else {
      Emit(current, words);
      joiner = 0;
    }
  }
  Emit(current, words);
  return words;
}

}  // namespace studio::search
