#include "llm/terms.hpp"

#include <unordered_set>

#include "search/embed/words.hpp"

namespace studio::llm {
namespace {

bool IsVowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'; }

bool HasVowel(std::string_view s) {
  for (const char c : s) {
    if (IsVowel(c)) return true;
  }
  return false;
}

// Every rule leaves at least this many letters, so short words ("bed", "use", "news") stay whole.
constexpr std::size_t kMinStem = 3;

// Replaces `suffix` with `replacement` when `w` ends in it and enough is left; true if it did.
bool Replace(std::string& w, std::string_view suffix, std::string_view replacement) {
  if (!w.ends_with(suffix) || w.size() - suffix.size() + replacement.size() < kMinStem) return false;
  w.resize(w.size() - suffix.size());
  w.append(replacement);
  return true;
}

void StripPlural(std::string& w) {
  if (Replace(w, "ies", "y") || Replace(w, "sses", "ss")) return;
  for (const std::string_view es : {"xes", "ches", "shes", "zes"}) {
    if (w.ends_with(es)) {
      Replace(w, "es", "");
      return;
    }
  }
  if (w.ends_with("ss") || w.ends_with("us") || w.ends_with("is")) return;
  Replace(w, "s", "");
}

void StripVerbEnding(std::string& w) {
  if (Replace(w, "ied", "y")) return;
  for (const std::string_view ending : {"ing", "ed"}) {
    if (w.ends_with(ending) && HasVowel(std::string_view(w).substr(0, w.size() - ending.size()))) {
      Replace(w, ending, "");
      return;
    }
  }
}

void Tidy(std::string& w) {
  if (w.ends_with('e')) Replace(w, "e", "");
  const std::size_t n = w.size();
  if (n > kMinStem && w[n - 1] == w[n - 2] && !IsVowel(w[n - 1]) && w[n - 1] != 'l' && w[n - 1] != 's' &&
      w[n - 1] != 'z') {
    w.pop_back();
  }
}

// Besides the usual function words, the light verbs and fillers of a question ("how long does it
// take", "is it possible to") are left out: they match answer sentences about something else.
const std::unordered_set<std::string_view>& StopWords() {
  static const std::unordered_set<std::string_view> words = {
      "able",      "also",    "anything", "ask",       "come",     "find",    "give",       "go",        "help",
      "look",      "make",    "need",     "needs",     "possible", "put",     "see",        "something", "take",
      "takes",     "thing",   "things",   "way",       "work",     "works",   "a",          "about",     "above",
      "after",     "again",   "against",  "all",       "am",       "an",      "and",        "any",       "are",
      "as",        "at",      "be",       "because",   "been",     "before",  "being",      "below",     "between",
      "both",      "but",     "by",       "can",       "could",    "did",     "do",         "does",      "doing",
      "done",      "down",    "during",   "each",      "either",   "else",    "ever",       "every",     "few",
      "for",       "from",    "further",  "get",       "gets",     "getting", "got",        "had",       "has",
      "have",      "having",  "he",       "hello",     "her",      "here",    "hers",       "herself",   "hi",
      "him",       "himself", "his",      "how",       "however",  "i",       "if",         "in",        "into",
      "is",        "it",      "its",      "itself",    "just",     "know",    "let",        "like",      "may",
      "me",        "might",   "mine",     "more",      "most",     "much",    "must",       "my",        "myself",
      "no",        "nor",     "not",      "of",        "off",      "on",      "once",       "only",      "or",
      "other",     "our",     "ours",     "ourselves", "out",      "over",    "own",        "please",    "same",
      "shall",     "she",     "should",   "so",        "some",     "such",    "tell",       "than",      "thank",
      "thanks",    "that",    "the",      "their",     "theirs",   "them",    "themselves", "then",      "there",
      "these",     "they",    "this",     "those",     "through",  "to",      "too",        "under",     "until",
      "up",        "us",      "very",     "via",       "want",     "was",     "we",         "were",      "what",
      "when",      "where",   "whether",  "which",     "while",    "who",     "whom",       "whose",     "why",
      "will",      "with",    "within",   "would",     "yes",      "you",     "your",       "yours",     "yourself",
      "yourselves"};
  return words;
}

}  // namespace

bool IsStopWord(std::string_view word) { return StopWords().contains(word); }

std::string LightStem(std::string_view word) {
  std::string w(word);
  StripPlural(w);
  StripVerbEnding(w);
  Tidy(w);
  return w;
}

std::vector<std::string> ContentTerms(std::string_view text) {
  std::vector<std::string> terms;
  for (const std::string& word : search::SplitWords(text)) {
    // "30-day" and "e-mail" are compared by their parts: a question may write them apart.
    // (SplitWords has turned every kind of hyphen into '-'.)
    std::size_t start = 0;
    while (start <= word.size()) {
      std::size_t end = word.find('-', start);
      if (end == std::string::npos) end = word.size();
      const std::string_view part = std::string_view(word).substr(start, end - start);
      start = end + 1;
      if (part.size() < 2 || IsStopWord(part)) continue;
      terms.push_back(LightStem(part));
    }
  }
  return terms;
}

}  // namespace studio::llm
