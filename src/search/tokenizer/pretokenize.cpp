#include "search/tokenizer/pretokenize.hpp"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <array>
#include <cstdint>

// A hand-written matcher rather than a regex engine: std::regex has no \p{..} classes, and ICU's
// RegexMatcher works on UTF-16 (a conversion of every input plus an index map back to UTF-8
// offsets) and runs the lookahead alternative through a backtracking engine; it was several times
// slower than the whole BPE step. The pattern is fixed, so each alternative is a few lines below,
// in the pattern's order, and only ICU's character properties are needed.

namespace studio::search::detail {
namespace {

enum class Cls : std::uint8_t { kLetter, kNumber, kNewline, kSpace, kOther };

struct Char {
  Cls cls;
  std::size_t len;  // bytes
};

constexpr std::array<Cls, 128> MakeAsciiTable() {
  std::array<Cls, 128> t{};
  for (int c = 0; c < 128; ++c) {
    Cls cls = Cls::kOther;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) cls = Cls::kLetter;
    if (c >= '0' && c <= '9') cls = Cls::kNumber;
    if (c == '\t' || c == '\v' || c == '\f' || c == ' ') cls = Cls::kSpace;
    if (c == '\r' || c == '\n') cls = Cls::kNewline;
    t[static_cast<std::size_t>(c)] = cls;
  }
  return t;
}
constexpr std::array<Cls, 128> kAscii = MakeAsciiTable();

Cls Classify(UChar32 c) {
  if (c < 0) return Cls::kOther;  // ill-formed UTF-8
  const std::uint32_t mask = U_GET_GC_MASK(c);
  if ((mask & U_GC_L_MASK) != 0) return Cls::kLetter;
  if ((mask & U_GC_N_MASK) != 0) return Cls::kNumber;
  if (u_isUWhiteSpace(c)) return Cls::kSpace;  // U+0085, U+2028, U+2029 are not [\r\n]
  return Cls::kOther;
}

/// The character at byte offset i (< text.size()).
Char At(std::string_view text, std::size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  if (b < 0x80) return {kAscii[b], 1};
  const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
  std::int64_t pos = static_cast<std::int64_t>(i);
  const std::int64_t length = static_cast<std::int64_t>(text.size());
  UChar32 c = 0;
  U8_NEXT(s, pos, length, c);  // c < 0 for an ill-formed sequence; pos then moved past it
  return {Classify(c), static_cast<std::size_t>(pos) - i};
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::size_t RunEnd(std::string_view text, std::size_t i, Cls cls) {
  while (i < text.size()) {
    const Char c = At(text, i);
    if (c.cls != cls) break;
    i += c.len;
  }
  return i;
}

}  // namespace

std::size_t NextPieceEnd(std::string_view text, std::size_t begin) {
  const std::size_t n = text.size();
  const Char c0 = At(text, begin);
  const std::size_t i1 = begin + c0.len;

  // '(?i:[sdmt]|ll|ve|re)
  if (text[begin] == '\'' && i1 < n) {
    const char a = AsciiLower(text[i1]);
    if (a == 's' || a == 'd' || a == 'm' || a == 't') return i1 + 1;
    if (i1 + 1 < n) {
      const char b = AsciiLower(text[i1 + 1]);
      if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e')) return i1 + 2;
    }
  }

  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c0.cls == Cls::kLetter) return RunEnd(text, i1, Cls::kLetter);
  if (c0.cls != Cls::kNewline && c0.cls != Cls::kNumber && i1 < n) {
    const Char c1 = At(text, i1);
    if (c1.cls == Cls::kLetter) return RunEnd(text, i1 + c1.len, Cls::kLetter);
  }

  // \p{N}{1,3}
  if (c0.cls == Cls::kNumber) {
    std::size_t j = i1;
    for (int k = 1; k < 3 && j < n; ++k) {
      const Char c = At(text, j);
      if (c.cls != Cls::kNumber) break;
      j += c.len;
    }
    return j;
  }

  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  std::size_t j = begin;
  if (text[begin] == ' ' && i1 < n && At(text, i1).cls == Cls::kOther) j = i1;
  if (At(text, j).cls == Cls::kOther) {
    j = RunEnd(text, j, Cls::kOther);
    while (j < n && (text[j] == '\r' || text[j] == '\n')) ++j;
    return j;
  }

  // Only whitespace is left: measure the run starting here.
  std::size_t end = begin;
  std::size_t last_start = begin;  // where the run's last character starts
  std::size_t after_newline = 0;   // just past the run's last \r or \n; 0 = none
  int count = 0;
  while (end < n) {
    const Char c = At(text, end);
    if (c.cls != Cls::kSpace && c.cls != Cls::kNewline) break;
    last_start = end;
    end += c.len;
    if (c.cls == Cls::kNewline) after_newline = end;
    ++count;
  }
  if (end == n) return n;                        // \s+$
  if (after_newline != 0) return after_newline;  // \s*[\r\n]  (greedy \s*, so up to the last newline)
  if (count >= 2) return last_start;             // \s+(?!\S)  (leaves one space for the next word)
  return i1;                                     // \s
}

}  // namespace studio::search::detail
