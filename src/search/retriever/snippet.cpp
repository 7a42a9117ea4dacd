#include "search/retriever/snippet.hpp"

#include <algorithm>
#include <array>
#include <set>

namespace studio::search {
namespace {

constexpr std::size_t kMaxTerms = 32;
// Matches looked at when choosing the window (the window-scoring loop is quadratic in them).
constexpr std::size_t kMaxMatches = 256;
// How far a cut may move to land on a word boundary.
constexpr std::size_t kSnapBytes = 30;
constexpr std::string_view kEllipsis = "\u2026";

// Words too common to locate anything; the keyword index ranks them low for the same reason.
constexpr std::array<std::string_view, 60> kStopWords = {
    "a",     "about", "after", "all", "also",  "an",  "and",  "any",  "are",  "as",    "at",   "be",
    "been",  "but",   "by",    "can", "could", "did", "do",   "does", "for",  "from",  "had",  "has",
    "have",  "how",   "if",    "in",  "into",  "is",  "it",   "its",  "may",  "me",    "my",   "no",
    "not",   "of",    "on",    "or",  "our",   "so",  "than", "that", "the",  "their", "then", "there",
    "these", "they",  "this",  "to",  "was",   "we",  "were", "what", "when", "which", "who",  "with"};

bool IsWordByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u >= 0x80;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

struct Token {
  std::size_t begin = 0;
  std::size_t end = 0;
};

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!IsWordByte(text[i])) {
      ++i;
      continue;
    }
    const std::size_t begin = i;
    while (i < text.size() && IsWordByte(text[i])) ++i;
    tokens.push_back({begin, i});
  }
  return tokens;
}

std::string Lower(std::string_view word) {
  std::string out(word);
  std::transform(out.begin(), out.end(), out.begin(), AsciiLower);
  return out;
}

bool Matches(std::string_view word, std::string_view term) {
  const std::size_t shorter = std::min(word.size(), term.size());
  std::size_t common = 0;
  while (common < shorter && word[common] == term[common]) ++common;
  if (common == word.size() && common == term.size()) return true;
  if (common == shorter) return shorter >= 3;  // one is a prefix of the other
  return common >= 5 && common + 2 >= shorter;
}

// The index of the first term `word` matches, or -1.
int MatchingTerm(std::string_view word, const std::vector<std::string>& terms) {
  const std::string lower = Lower(word);
  for (std::size_t t = 0; t < terms.size(); ++t) {
    if (Matches(lower, terms[t])) return static_cast<int>(t);
  }
  return -1;
}

struct Match {
  std::size_t begin = 0;
  std::size_t end = 0;
  int term = 0;
};

}  // namespace

std::vector<std::string> QueryTerms(std::string_view query) {
  std::vector<std::string> terms;
  for (const Token& token : Tokenize(query)) {
    std::string word = Lower(query.substr(token.begin, token.end - token.begin));
    const bool ascii =
        std::all_of(word.begin(), word.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii && word.size() < 2) continue;
    if (std::find(kStopWords.begin(), kStopWords.end(), word) != kStopWords.end()) continue;
    if (std::find(terms.begin(), terms.end(), word) != terms.end()) continue;
    terms.push_back(std::move(word));
    if (terms.size() == kMaxTerms) break;
  }
  return terms;
}

Snippet MakeSnippet(std::string_view text, std::string_view query, std::size_t width) {
  const std::vector<std::string> terms = QueryTerms(query);
  const std::vector<Token> tokens = Tokenize(text);
  std::vector<Match> matches;
  for (const Token& token : tokens) {
    if (matches.size() == kMaxMatches) break;
    const int term = MatchingTerm(text.substr(token.begin, token.end - token.begin), terms);
    if (term >= 0) matches.push_back({token.begin, token.end, term});
  }

  // The window: the run of `width` bytes starting at a match that holds the most distinct terms
  // (then the most matches; then the earliest), shifted back so the matched run sits in the middle.
  const std::size_t n = text.size();
  std::size_t start = 0;
  if (!matches.empty() && n > width) {
    std::size_t best = 0, best_distinct = 0, best_total = 0, best_last_end = 0;
    for (std::size_t i = 0; i < matches.size(); ++i) {
      std::set<int> distinct;
      std::size_t total = 0, last_end = matches[i].end;
      for (std::size_t j = i; j < matches.size() && matches[j].end <= matches[i].begin + width; ++j) {
        distinct.insert(matches[j].term);
        ++total;
        last_end = matches[j].end;
      }
      if (distinct.size() > best_distinct || (distinct.size() == best_distinct && total > best_total)) {
        best = i;
        best_distinct = distinct.size();
        best_total = total;
        best_last_end = last_end;
      }
    }
    const std::size_t span = std::min(best_last_end - matches[best].begin, width);
    const std::size_t slack = (width - span) / 2;
    start = matches[best].begin > slack ? matches[best].begin - slack : 0;
  }
  std::size_t end = std::min(n, start + width);
  if (end == n) start = n > width ? n - width : 0;

  // Cut on word boundaries when one is near, else at least on a character boundary.
  if (start > 0) {
    auto next = std::lower_bound(tokens.begin(), tokens.end(), start,
                                 [](const Token& t, std::size_t pos) { return t.begin < pos; });
    if (next != tokens.end() && next->begin <= start + kSnapBytes && next->begin < end) {
      start = next->begin;
    } else {
      for (int k = 0; k < 4 && start < end && IsContinuation(text[start]); ++k) ++start;
    }
  }
  if (end < n) {
    auto after = std::upper_bound(tokens.begin(), tokens.end(), end,
                                  [](std::size_t pos, const Token& t) { return pos < t.end; });
    if (after != tokens.begin() && std::prev(after)->end + kSnapBytes >= end && std::prev(after)->end > start) {
      end = std::prev(after)->end;
      // Keep the punctuation that closes the last word ("minutes." rather than "minutes").
      for (int k = 0; k < 3 && end < n && !IsSpace(text[end]) && !IsWordByte(text[end]); ++k) ++end;
    } else {
      for (int k = 0; k < 4 && end > start && IsContinuation(text[end]); ++k) --end;
    }
  }

  Snippet out;
  if (start > 0) out.text += kEllipsis;
  auto match = std::lower_bound(tokens.begin(), tokens.end(), start,
                                [](const Token& t, std::size_t pos) { return t.begin < pos; });
  bool pending_space = false;
  for (std::size_t i = start; i < end; ++i) {
    if (IsSpace(text[i])) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.text.empty() && out.text != kEllipsis) out.text += ' ';
    pending_space = false;
    if (match != tokens.end() && match->begin == i) {
      if (match->end <= end && MatchingTerm(text.substr(match->begin, match->end - match->begin), terms) >= 0) {
        out.highlights.push_back({out.text.size(), match->end - match->begin});
      }
      ++match;
    }
    out.text += text[i];
  }
  if (end < n) out.text += kEllipsis;
  return out;
}

}  // namespace studio::search
