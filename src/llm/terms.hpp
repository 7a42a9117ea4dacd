#pragma once
// The words that carry a question's meaning, normalised so that a question and a passage agree on
// them ("refunds" / "refunded" / "refund" are one term).

#include <string>
#include <string_view>
#include <vector>

namespace studio::llm {

/// The content terms of `text`, in order, repeats kept: the words of search::SplitWords (lower
/// case, accents stripped, clitics resolved), hyphenated words split into their parts, English
/// stop words and one-letter words dropped, each word passed through LightStem.
std::vector<std::string> ContentTerms(std::string_view text);

/// A deliberately light English stemmer: a few suffix rules, never leaving fewer than 3 letters.
///   plural:  -ies → -y, -sses → -ss, -xes/-ches/-shes/-zes → drop "es", -s → drop (not -ss/-us/-is)
///   then:    -ied → -y, -ing → drop, -ed → drop (the rest must hold a vowel)
///   then:    a final -e is dropped, and a final doubled consonant (other than l, s, z) undoubled
/// so "shipping", "shipped", "ships" → "ship"; "charges", "charged", "charge" → "charg".
std::string LightStem(std::string_view word);

/// Whether `word` (lower case) is an English stop word: articles, pronouns, auxiliaries,
/// prepositions, question words and the light verbs and filler of a request ("take", "need",
/// "please", "tell", "know" …).
bool IsStopWord(std::string_view word);

}  // namespace studio::llm
