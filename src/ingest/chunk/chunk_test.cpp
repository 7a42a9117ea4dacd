#include "ingest/chunk/chunk.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "search/embed/embedder.hpp"
#include "search/tokenizer/test_support.hpp"
#include "search/tokenizer/tokenizer.hpp"

namespace studio::chunk {
namespace {

/// Deterministic English-like prose: `sentences` sentences of 6-20 words, in paragraphs of 4.
std::string Prose(int sentences, unsigned seed = 1) {
  static const std::vector<std::string> kWords = {
      "the",     "system", "stores",   "documents", "and",    "answers", "questions", "from",   "each",
      "tenant",  "with",   "care",     "while",     "agents", "search",  "through",   "chunks", "of",
      "text",    "that",   "overlap",  "slightly",  "so",     "context", "survives",  "every",  "cut",
      "between", "pages",  "sections", "headings",  "tables", "numbers", "like",      "1024",   "or",
      "3.14",    "remain", "intact",   "because",   "tokens", "count",   "exactly"};
  std::mt19937 rng(seed);
  std::string out;
  for (int s = 0; s < sentences; ++s) {
    const int words = 6 + static_cast<int>(rng() % 15);
    std::string sentence;
    for (int w = 0; w < words; ++w) {
      std::string word = kWords[rng() % kWords.size()];
      if (w == 0) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
      sentence += (w == 0 ? "" : " ") + word;
    }
    out += sentence + (rng() % 5 == 0 ? "?" : ".");
    out += (s % 4 == 3) ? "\n\n" : " ";
  }
  return out;
}

bool ValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

class ChunkTest : public search::test_support::TokenizerTest {
 protected:
  std::vector<Chunk> Run(const ChunkInput& input, const ChunkOptions& options, const EmbedFn& embed = {}) {
    std::vector<Chunk> chunks = ChunkText(input, options, tok(), embed);
    CheckInvariants(input, options, chunks);
    return chunks;
  }

  /// What every strategy promises, checked on every result.
  void CheckInvariants(const ChunkInput& input, const ChunkOptions& options, const std::vector<Chunk>& chunks) {
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      const Chunk& c = chunks[i];
      SCOPED_TRACE("chunk " + std::to_string(i));
      EXPECT_EQ(c.ordinal, static_cast<int>(i));
      ASSERT_LT(c.begin, c.end);
      ASSERT_LE(c.end, input.text.size());
      EXPECT_EQ(c.text, input.text.substr(c.begin, c.end - c.begin));
      EXPECT_NE(c.text.find_first_not_of(" \t\r\n"), std::string::npos);
      EXPECT_TRUE(ValidUtf8(c.text));
      EXPECT_EQ(c.token_count, static_cast<int>(tok().Count(c.text)));
      EXPECT_LE(c.token_count, options.max_tokens);
      if (i > 0) {
        EXPECT_GT(c.begin, chunks[i - 1].begin);
      }
    }
  }

  int CountTokens(std::string_view text, std::size_t b, std::size_t e) {
    return static_cast<int>(tok().Count(text.substr(b, e - b)));
  }
};

// ---- fixed ----------------------------------------------------------------------------------

TEST_F(ChunkTest, FixedWindowsOverlapByExactlyOverlapTokens) {
  const std::string text = Prose(300);
  ChunkOptions options;
  options.strategy = ChunkOptions::kFixed;
  options.max_tokens = 200;
  options.overlap_tokens = 40;
  const auto chunks = Run({text, {}, {}}, options);
  ASSERT_GT(chunks.size(), 10u);
  EXPECT_EQ(chunks.front().begin, 0u);
  EXPECT_EQ(chunks.back().end, text.find_last_not_of(" \n") + 1);
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    const Chunk& prev = chunks[i - 1];
    const Chunk& next = chunks[i];
    ASSERT_LT(next.begin, prev.end);
    EXPECT_EQ(CountTokens(text, next.begin, prev.end), 40) << "overlap between " << i - 1 << " and " << i;
    // Non-final windows are full but for the last 10%, and end after a sentence or at whitespace.
    EXPECT_GE(prev.token_count, 180);
    const char last = text[prev.end - 1];
    const char after = text[prev.end];
    EXPECT_TRUE(last == '.' || last == '?' || last == ' ' || after == ' ' || after == '\n' || last == '\n')
        << "ends at " << text.substr(prev.end - 10, 20);
  }
}

TEST_F(ChunkTest, FixedWithoutOverlapTilesTheText) {
  const std::string text = "  \n" + Prose(120) + "\n\n";
  ChunkOptions options;
  options.strategy = ChunkOptions::kFixed;
  options.max_tokens = 64;
  options.overlap_tokens = 0;
  const auto chunks = Run({text, {}, {}}, options);
  ASSERT_GT(chunks.size(), 5u);
  EXPECT_EQ(chunks.front().begin, 3u);  // leading whitespace is not part of any chunk
  for (std::size_t i = 1; i < chunks.size(); ++i) EXPECT_EQ(chunks[i].begin, chunks[i - 1].end);
  int total = 0;
  for (const auto& c : chunks) total += c.token_count;
  // Cutting at token boundaries: the pieces count (almost) what the whole does.
  EXPECT_NEAR(total, CountTokens(text, 3, chunks.back().end), static_cast<double>(chunks.size()));
}

TEST_F(ChunkTest, FixedNeverSplitsACodePoint) {
  // CJK and emoji are encoded as byte-level tokens, so token boundaries fall inside characters.
  const std::string cjk = "東京特許許可局許可局長今日急遽休暇許可拒否";
  const std::string emoji = "🧑🏿‍💻👨‍👩‍👧‍👦🇫🇷";
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += cjk + emoji + "çé";
  }
  // The premise: many token boundaries fall inside a character.
  int inside = 0;
  std::size_t offset = 0;
  for (int id : tok().Encode(text)) {
    offset += tok().TokenBytes(id).size();
    if (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) ++inside;
  }
  ASSERT_GT(inside, 100);
  ChunkOptions options;
  options.strategy = ChunkOptions::kFixed;
  options.max_tokens = 16;
  options.overlap_tokens = 4;
  const auto chunks = Run({text, {}, {}}, options);
  ASSERT_GT(chunks.size(), 20u);
  EXPECT_EQ(chunks.front().begin, 0u);
  EXPECT_EQ(chunks.back().end, text.size());
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i].begin, chunks[i - 1].end);  // no gaps
    EXPECT_NE(static_cast<unsigned char>(text[chunks[i].begin]) & 0xC0, 0x80);
    if (chunks[i - 1].end < text.size()) {
      EXPECT_NE(static_cast<unsigned char>(text[chunks[i - 1].end]) & 0xC0, 0x80);
    }
  }
}

TEST_F(ChunkTest, ShortTextIsOneChunkAndBlankTextNone) {
  ChunkOptions options;
  for (auto strategy : {ChunkOptions::kFixed, ChunkOptions::kParagraph}) {
    options.strategy = strategy;
    const std::string text = "\n  Just one line.  \n";
    const auto chunks = Run({text, {}, {}}, options);
    ASSERT_EQ(chunks.size(), 1u);
    EXPECT_EQ(chunks[0].text, "Just one line.");
    EXPECT_EQ(chunks[0].begin, 3u);
    EXPECT_TRUE(Run({" \n\n\t \u3000 ", {}, {}}, options).empty());
    EXPECT_TRUE(Run({"", {}, {}}, options).empty());
  }
}

// ---- paragraph ------------------------------------------------------------------------------

TEST_F(ChunkTest, ParagraphsMergeUpToMaxTokens) {
  // Six paragraphs of 10-20 tokens each.
  std::vector<std::string> paragraphs;
  paragraphs.reserve(6);
  for (int i = 0; i < 6; ++i) paragraphs.push_back(Prose(1, 100 + static_cast<unsigned>(i)));
  std::string text;
  std::vector<std::size_t> starts;
  for (auto& p : paragraphs) {
    while (!p.empty() && (p.back() == ' ' || p.back() == '\n')) p.pop_back();
    starts.push_back(text.size());
    text += p + "\n\n";
  }
  ChunkOptions options;
  options.strategy = ChunkOptions::kParagraph;
  const auto all = Run({text, {}, {}}, options);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].begin, 0u);
  EXPECT_EQ(all[0].end, text.size() - 2);

  // With room for about two paragraphs, groups are whole paragraphs and as large as fit.
  options.max_tokens = CountTokens(text, starts[0], starts[2] - 2) + 1;
  options.overlap_tokens = 0;
  const auto groups = Run({text, {}, {}}, options);
  ASSERT_GE(groups.size(), 3u);
  EXPECT_EQ(groups[0].begin, starts[0]);
  EXPECT_EQ(groups[0].end, starts[2] - 2);
  for (const auto& g : groups) {
    EXPECT_TRUE(std::find(starts.begin(), starts.end(), g.begin) != starts.end()) << g.text;
    EXPECT_EQ(text.substr(g.end, 2), "\n\n");
  }
  for (std::size_t i = 1; i < groups.size(); ++i) {
    // The next paragraph would not have fitted.
    const std::size_t next_para_end = groups[i].text.find("\n\n");
    const std::size_t end = next_para_end == std::string::npos ? groups[i].end : groups[i].begin + next_para_end;
    EXPECT_GT(CountTokens(text, groups[i - 1].begin, end), options.max_tokens);
  }
}

TEST_F(ChunkTest, ParagraphsNeverCrossSectionsAndCarryHeadings) {
  const std::string intro = "Welcome to the guide. It explains everything.";
  const std::string setup = "Install the package. Then run it.";
  const std::string text = "# Guide\n\n" + intro + "\n\n## Setup\n\n" + setup + "\n";
  const std::size_t setup_heading = text.find("## Setup");
  ChunkInput input{text, {{"Guide", 0, setup_heading}, {"Guide > Setup", setup_heading, text.size()}}, {}};
  ChunkOptions options;
  options.strategy = ChunkOptions::kParagraph;
  const auto chunks = Run(input, options);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "# Guide\n\n" + intro);
  EXPECT_EQ(chunks[0].heading_path, "Guide");
  EXPECT_EQ(chunks[1].text, "## Setup\n\n" + setup);
  EXPECT_EQ(chunks[1].heading_path, "Guide > Setup");
}

TEST_F(ChunkTest, OversizeParagraphIsCutWithOverlap) {
  std::string para = Prose(60);
  for (char& c : para) {
    if (c == '\n') c = ' ';  // one long paragraph
  }
  const std::string text = "Short intro.\n\n" + para + "\n\nShort outro.";
  ChunkOptions options;
  options.strategy = ChunkOptions::kParagraph;
  options.max_tokens = 100;
  options.overlap_tokens = 20;
  const auto chunks = Run({text, {}, {}}, options);
  ASSERT_GE(chunks.size(), 6u);
  EXPECT_EQ(chunks.front().text, "Short intro.");
  EXPECT_EQ(chunks.back().text, "Short outro.");
  for (std::size_t i = 2; i + 1 < chunks.size(); ++i) {
    ASSERT_LT(chunks[i].begin, chunks[i - 1].end);
    EXPECT_EQ(CountTokens(text, chunks[i].begin, chunks[i - 1].end), 20);
  }
}

TEST_F(ChunkTest, PagesAndHeadingsAreAssigned) {
  const std::string p1 = "Page one text is here.";
  const std::string p2 = "Page two continues.";
  const std::string p3 = "Page three ends it.";
  const std::string text = p1 + "\n" + p2 + "\n\f" + p3;
  const std::size_t b2 = p1.size() + 1;
  const std::size_t b3 = text.find("Page three");
  ChunkInput input{text,
                   {{"Report", 0, b3}, {"Report > Appendix", b3, text.size()}},
                   {{1, 0, b2}, {2, b2, b3}, {3, b3, text.size()}}};
  ChunkOptions options;
  options.strategy = ChunkOptions::kParagraph;
  const auto chunks = Run(input, options);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, p1 + "\n" + p2);
  EXPECT_EQ(chunks[0].page_start, 1);
  EXPECT_EQ(chunks[0].page_end, 2);
  EXPECT_EQ(chunks[0].heading_path, "Report");
  EXPECT_EQ(chunks[1].page_start, 3);
  EXPECT_EQ(chunks[1].page_end, 3);
  EXPECT_EQ(chunks[1].heading_path, "Report > Appendix");

  // Without spans, pages are unknown (0); text outside every section has no heading.
  const auto bare = Run({text, {}, {}}, options);
  for (const auto& c : bare) {
    EXPECT_EQ(c.page_start, 0);
    EXPECT_EQ(c.page_end, 0);
    EXPECT_EQ(c.heading_path, "");
  }
}

TEST_F(ChunkTest, FixedChunksTakeTheHeadingWhereTheyStart) {
  const std::string a = Prose(20, 5);
  const std::string text = a + Prose(20, 6);
  ChunkInput input{
      text, {{"A", 0, a.size()}, {"B", a.size(), text.size()}}, {{7, 0, a.size()}, {8, a.size(), text.size()}}};
  ChunkOptions options;
  options.strategy = ChunkOptions::kFixed;
  options.max_tokens = 100;
  options.overlap_tokens = 10;
  const auto chunks = Run(input, options);
  ASSERT_GT(chunks.size(), 4u);
  bool crossed = false;
  for (const auto& c : chunks) {
    const std::size_t first = c.begin + c.text.find_first_not_of(" \n");
    EXPECT_EQ(c.heading_path, first < a.size() ? "A" : "B");
    EXPECT_EQ(c.page_start, first < a.size() ? 7 : 8);
    EXPECT_EQ(c.page_end, c.end > a.size() ? 8 : 7);
    crossed = crossed || (c.begin < a.size() && c.end > a.size());
  }
  EXPECT_TRUE(crossed);
}

// ---- semantic -------------------------------------------------------------------------------

/// Topic A (cats) maps to one direction, topic B (rockets) to another, anything else to a third.
std::vector<std::vector<float>> FakeEmbed(std::span<const std::string> texts, int* calls = nullptr) {
  if (calls != nullptr) ++*calls;
  std::vector<std::vector<float>> out;
  for (const auto& t : texts) {
    if (t.find("cat") != std::string::npos) {
      out.push_back({1, 0, 0});
    } else if (t.find("rocket") != std::string::npos) {
      out.push_back({0, 1, 0});
    } else {
      out.push_back({0, 0, 1});
    }
  }
  return out;
}

std::string CatsThenRockets(int cats, int rockets) {
  std::string text;
  for (int i = 0; i < cats; ++i) text += "The cat number " + std::to_string(i) + " sleeps on the warm mat. ";
  for (int i = 0; i < rockets; ++i) text += "A rocket stage " + std::to_string(i) + " burns for two minutes. ";
  return text;
}

TEST_F(ChunkTest, SemanticSplitsExactlyAtTheTopicChange) {
  const std::string text = CatsThenRockets(5, 5);
  ChunkOptions options;
  options.strategy = ChunkOptions::kSemantic;
  int calls = 0;
  const auto chunks =
      Run({text, {}, {}}, options, [&](std::span<const std::string> t) { return FakeEmbed(t, &calls); });
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(chunks.size(), 2u);
  const std::size_t change = text.find("A rocket stage 0");
  EXPECT_EQ(chunks[0].begin, 0u);
  EXPECT_EQ(chunks[0].end, change - 1);  // the space between the topics belongs to neither
  EXPECT_EQ(chunks[1].begin, change);
  EXPECT_EQ(chunks[1].text.find("cat"), std::string::npos);
}

TEST_F(ChunkTest, SemanticFindsEveryTopicChangeAcrossParagraphs) {
  // A B A in three paragraphs, sentences on both sides of each change.
  const std::string text = CatsThenRockets(4, 0) + "\n\n" + CatsThenRockets(0, 4) + "\n\n" + CatsThenRockets(4, 0);
  ChunkOptions options;
  options.strategy = ChunkOptions::kSemantic;
  const auto chunks = Run({text, {}, {}}, options, [](std::span<const std::string> t) { return FakeEmbed(t); });
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[1].text.find("cat"), std::string::npos);
  EXPECT_EQ(chunks[1].text.find("A rocket stage 0"), 0u);
}

TEST_F(ChunkTest, SemanticUniformTopicIsBoundOnlyByMaxTokens) {
  const std::string text = CatsThenRockets(40, 0);
  ChunkOptions options;
  options.strategy = ChunkOptions::kSemantic;
  options.max_tokens = 60;
  options.overlap_tokens = 0;
  const auto chunks = Run({text, {}, {}}, options, [](std::span<const std::string> t) { return FakeEmbed(t); });
  ASSERT_GT(chunks.size(), 5u);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].text.find("The cat"), 0u);  // whole sentences
    EXPECT_EQ(chunks[i].text.back(), '.');
    if (i + 1 < chunks.size()) {
      EXPECT_GT(chunks[i].token_count, 60 - 15);  // full up to the next sentence
    }
  }
}

TEST_F(ChunkTest, SemanticRespectsSectionsAndCutsLongSentences) {
  std::string long_sentence = "This cat";
  for (int i = 0; i < 80; ++i) long_sentence += " and another cat";
  long_sentence += ".";
  const std::string first = CatsThenRockets(2, 0);
  const std::string text = first + long_sentence + " " + CatsThenRockets(2, 0);
  ChunkInput input{text, {{"One", 0, first.size()}, {"Two", first.size(), text.size()}}, {}};
  ChunkOptions options;
  options.strategy = ChunkOptions::kSemantic;
  options.max_tokens = 100;
  options.overlap_tokens = 10;
  const auto chunks = Run(input, options, [](std::span<const std::string> t) { return FakeEmbed(t); });
  ASSERT_GE(chunks.size(), 4u);
  EXPECT_EQ(chunks[0].end, first.size() - 1);
  EXPECT_EQ(chunks[0].heading_path, "One");
  for (std::size_t i = 1; i < chunks.size(); ++i) EXPECT_EQ(chunks[i].heading_path, "Two");
  EXPECT_EQ(chunks[1].begin, first.size());
}

class FakeEmbedder : public search::Embedder {
 public:
  std::string_view name() const override { return "fake"; }
  std::string model() const override { return "fake-3d"; }
  int dimension() const override { return 3; }
  std::vector<search::Vector> Embed(std::span<const std::string> texts) override {
    calls += static_cast<int>(texts.size());
    return FakeEmbed(texts);
  }
  int calls = 0;
};

TEST_F(ChunkTest, SemanticThroughTheEmbedderInterface) {
  FakeEmbedder embedder;
  ChunkOptions options;
  options.strategy = ChunkOptions::kSemantic;
  const auto chunks = Run({CatsThenRockets(3, 3), {}, {}}, options, EmbedWith(embedder));
  EXPECT_EQ(chunks.size(), 2u);
  EXPECT_EQ(embedder.calls, 6);
}

TEST_F(ChunkTest, SemanticRejectsABadEmbedder) {
  ChunkOptions options;
  options.strategy = ChunkOptions::kSemantic;
  const std::string text = CatsThenRockets(2, 2);
  EXPECT_THROW(ChunkText({text, {}, {}}, options, tok()), std::invalid_argument);
  auto short_answer = [](std::span<const std::string>) { return std::vector<std::vector<float>>{{1, 0}}; };
  EXPECT_THROW(ChunkText({text, {}, {}}, options, tok(), short_answer), std::runtime_error);
}

// ---- options and determinism ----------------------------------------------------------------

TEST_F(ChunkTest, RejectsBadOptionsAndSpans) {
  const std::string text = "Some text.";
  ChunkOptions options;
  options.max_tokens = 7;
  EXPECT_THROW(ChunkText({text, {}, {}}, options, tok()), std::invalid_argument);
  options.max_tokens = 100;
  options.overlap_tokens = 51;
  EXPECT_THROW(ChunkText({text, {}, {}}, options, tok()), std::invalid_argument);
  options.overlap_tokens = -1;
  EXPECT_THROW(ChunkText({text, {}, {}}, options, tok()), std::invalid_argument);
  options.overlap_tokens = 0;
  EXPECT_THROW(ChunkText({text, {{"x", 0, 11}}, {}}, options, tok()), std::invalid_argument);
  EXPECT_THROW(ChunkText({text, {}, {{1, 5, 4}}}, options, tok()), std::invalid_argument);
  EXPECT_NO_THROW(ChunkText({text, {{"x", 0, 10}}, {{1, 0, 10}}}, options, tok()));
}

TEST_F(ChunkTest, OutputIsDeterministic) {
  const std::string text = Prose(80) + CatsThenRockets(6, 6);
  for (auto strategy : {ChunkOptions::kFixed, ChunkOptions::kParagraph, ChunkOptions::kSemantic}) {
    ChunkOptions options;
    options.strategy = strategy;
    options.max_tokens = 120;
    options.overlap_tokens = 30;
    auto embed = [](std::span<const std::string> t) { return FakeEmbed(t); };
    const auto a = Run({text, {}, {}}, options, embed);
    const auto b = Run({text, {}, {}}, options, embed);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].begin, b[i].begin);
      EXPECT_EQ(a[i].end, b[i].end);
    }
  }
}

}  // namespace
}  // namespace studio::chunk
