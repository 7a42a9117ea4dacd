#include "llm/sentences.hpp"

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/utext.h>

#include <cctype>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>

namespace studio::llm {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The length of a list marker at the start of `line` ("- ", "* ", "+ ", "• ", "12. ", "3) "), or 0.
std::size_t ListMarker(std::string_view line) {
  for (const std::string_view bullet : {"- ", "* ", "+ ", "\u2022 "}) {
    if (line.starts_with(bullet)) return bullet.size();
  }
  std::size_t digits = 0;
  while (digits < line.size() && digits < 3 && std::isdigit(static_cast<unsigned char>(line[digits])) != 0) ++digits;
  if (digits > 0 && line.size() > digits + 1 && (line[digits] == '.' || line[digits] == ')') &&
      line[digits + 1] == ' ') {
    return digits + 2;
  }
  return 0;
}

// Lines grouped into blocks as SplitSentences describes.
std::vector<std::string> Blocks(std::string_view passage) {
  std::vector<std::string> blocks;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) blocks.push_back(std::move(current));
    current.clear();
  };
  std::size_t start = 0;
  while (start <= passage.size()) {
    std::size_t end = passage.find('\n', start);
    if (end == std::string_view::npos) end = passage.size();
    std::string_view line = Trim(passage.substr(start, end - start));
    start = end + 1;
    if (line.empty()) {
      flush();
    } else if (line.front() == '#' || line.front() == '|') {
      flush();  // a heading or a table row: not prose
    } else if (const std::size_t marker = ListMarker(line); marker > 0) {
      flush();
      current = Trim(line.substr(marker));
    } else {
      if (!current.empty()) current.push_back(' ');
      current.append(line);
    }
  }
  flush();
  return blocks;
}

std::string Collapse(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : Trim(s)) {
    if (!IsSpace(c)) {
      out.push_back(c);
    } else if (out.back() != ' ') {
      out.push_back(' ');  // out is never empty here: s was trimmed
    }
  }
  return out;
}

std::unique_ptr<icu::BreakIterator> NewSentenceIterator() {
  UErrorCode status = U_ZERO_ERROR;
  // ss=standard: no break after common abbreviations ("Mr.", "e.g."), as in ingest/chunk.
  const icu::Locale locale = icu::Locale::createFromName("en@ss=standard");
  std::unique_ptr<icu::BreakIterator> it(icu::BreakIterator::createSentenceInstance(locale, status));
  if (U_FAILURE(status) || !it) {
    throw std::runtime_error(std::string("cannot create the ICU sentence iterator: ") + u_errorName(status));
  }
  return it;
}

}  // namespace

std::vector<std::string> SplitSentences(std::string_view passage) {
  std::vector<std::string> out;
  if (passage.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) return out;
  const auto it = NewSentenceIterator();
  for (const std::string& block : Blocks(passage)) {
    UErrorCode status = U_ZERO_ERROR;
    icu::LocalUTextPointer text(
        utext_openUTF8(nullptr, block.data(), static_cast<std::int64_t>(block.size()), &status));
    it->setText(text.getAlias(), status);
    if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU sentence iterator: ") + u_errorName(status));
    // With UTF-8 text, ICU's boundaries are byte offsets into `block`.
    std::int32_t begin = it->first();
    for (std::int32_t end = it->next(); end != icu::BreakIterator::DONE; begin = end, end = it->next()) {
      std::string sentence = Collapse(
          std::string_view(block).substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin)));
      if (!sentence.empty()) out.push_back(std::move(sentence));
    }
  }
  return out;
}

}  // namespace studio::llm
