#include "ingest/chunk/text_util.hpp"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>

namespace studio::chunk::detail {
namespace {

const std::uint8_t* Bytes(std::string_view text) { return reinterpret_cast<const std::uint8_t*>(text.data()); }

/// Decodes the code point at *pos and advances *pos past it.
int Next(std::string_view text, std::size_t* pos) {
  std::int64_t i = static_cast<std::int64_t>(*pos);
  const auto length = static_cast<std::int64_t>(text.size());
  UChar32 c = 0;
  U8_NEXT(Bytes(text), i, length, c);
  *pos = static_cast<std::size_t>(i);
  return c;
}

/// Decodes the code point ending at *pos (> 0) and moves *pos to its start. Not ICU's U8_PREV,
/// whose offsets are int32_t: it looks back for the lead byte whose sequence, read forwards the
/// way Next reads it, ends exactly at *pos; failing that the last byte is a character of its own.
int Prev(std::string_view text, std::size_t* pos) {
  const std::size_t end = *pos;
  for (std::size_t back = 1; back <= 4 && back <= end; ++back) {
    const std::size_t start = end - back;
    if ((static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) continue;  // continuation byte
    std::size_t after = start;
    const int c = Next(text, &after);
    if (after != end) break;
    *pos = start;
    return c;
  }
  *pos = end - 1;
  return -1;
}

bool IsLineBreak(int c) { return c == '\n' || c == '\r' || c == 0x2028 || c == 0x85; }
bool IsHardBreak(int c) { return c == '\f' || c == 0x2029; }

}  // namespace

bool IsWhitespace(int code_point) { return code_point >= 0 && u_isUWhiteSpace(code_point); }

int CodePointAt(std::string_view text, std::size_t pos) { return Next(text, &pos); }
int PrevCodePoint(std::string_view text, std::size_t pos) { return Prev(text, &pos); }

bool IsCodePointBoundary(std::string_view text, std::size_t pos) {
  auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
  if (pos == 0 || pos >= text.size() || !continuation(pos)) return true;
  // A continuation byte: inside a character if the nearest lead byte before it starts a sequence
  // that (read the way Next reads it) reaches past it; otherwise it is a stray byte of its own.
  for (std::size_t back = 1; back <= 3 && back <= pos; ++back) {
    if (continuation(pos - back)) continue;
    std::size_t after = pos - back;
    Next(text, &after);
    return after <= pos;
  }
  return true;
}

Range Trim(std::string_view text, Range r) {
  std::size_t b = r.begin;
  while (b < r.end) {
    std::size_t next = b;
    if (!IsWhitespace(Next(text, &next))) break;
    b = next;
  }
  std::size_t e = r.end;
  while (e > b) {
    std::size_t prev = e;
    if (!IsWhitespace(Prev(text, &prev))) break;
    e = prev;
  }
  if (b == e) return {r.end, r.end};
  return {b, e};
}

bool IsBlank(std::string_view text, Range r) {
  const Range t = Trim(text, r);
  return t.begin == t.end;
}

std::vector<Range> Regions(std::size_t text_size, std::vector<std::size_t> cuts) {
  cuts.push_back(0);
  cuts.push_back(text_size);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<Range> regions;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    if (cuts[i + 1] <= text_size) regions.push_back({cuts[i], cuts[i + 1]});
  }
  return regions;
}

std::vector<Range> Paragraphs(std::string_view text, Range r) {
  std::vector<Range> out;
  auto emit = [&](std::size_t b, std::size_t e) {
    const Range t = Trim(text, {b, e});
    if (t.begin < t.end) out.push_back(t);
  };
  std::size_t start = r.begin;
  std::size_t pos = r.begin;
  while (pos < r.end) {
    std::size_t next = pos;
    const int c = Next(text, &next);
    if (!IsWhitespace(c)) {
      pos = next;
      continue;
    }
    // A whitespace run: a paragraph break when it holds two line breaks (CR LF counts as one) or a
    // form feed / paragraph separator.
    const std::size_t run_begin = pos;
    int line_breaks = 0;
    bool hard = false;
    int prev = -1;
    while (pos < r.end) {
      next = pos;
      const int w = Next(text, &next);
      if (!IsWhitespace(w)) break;
      if (IsLineBreak(w) && !(w == '\n' && prev == '\r')) ++line_breaks;
      hard = hard || IsHardBreak(w);
      prev = w;
      pos = next;
    }
    if (line_breaks >= 2 || hard) {
      emit(start, run_begin);
      start = pos;
    }
  }
  emit(start, r.end);
  return out;
}

}  // namespace studio::chunk::detail
