#include "search/tokenizer/bpe.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "search/tokenizer/rank_table.hpp"
#include "search/tokenizer/test_support.hpp"

namespace studio::search::detail {
namespace {

std::string Base64(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (bytes.size() - i == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (bytes.size() - i == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

/// A .tiktoken file: every single byte at ranks 0..255, then `merges` from rank 256 on.
std::string TiktokenFile(const std::vector<std::string>& merges) {
  std::string file;
  for (int b = 0; b < 256; ++b) file += Base64(std::string(1, static_cast<char>(b))) + " " + std::to_string(b) + "\n";
  int rank = 256;
  for (const auto& m : merges) file += Base64(m) + " " + std::to_string(rank++) + "\n";
  return file;
}

std::vector<int> Scan(const RankTable& t, std::string_view piece) {
  std::vector<int> out;
  BytePairEncodeScan(t, piece, out);
  return out;
}
std::vector<int> Heap(const RankTable& t, std::string_view piece) {
  std::vector<int> out;
  BytePairEncodeHeap(t, piece, out);
  return out;
}

TEST(RankTable, ParsesAndLooksUp) {
  const RankTable t = RankTable::Parse(TiktokenFile({"ab", "abc", "hello world"}));
  EXPECT_EQ(t.size(), 259u);
  EXPECT_EQ(t.Find("a"), 'a');
  EXPECT_EQ(t.Find("ab"), 256);
  EXPECT_EQ(t.Find("abc"), 257);
  EXPECT_EQ(t.Find("hello world"), 258);
  EXPECT_EQ(t.Find("abcd"), RankTable::kNone);
  EXPECT_EQ(t.Find(""), RankTable::kNone);
  EXPECT_EQ(t.Bytes(258), "hello world");
  EXPECT_EQ(t.Bytes(0), std::string(1, '\0'));
  EXPECT_EQ(t.Bytes(259), "");
  EXPECT_EQ(t.Bytes(-1), "");
}

TEST(RankTable, RejectsMalformedFiles) {
  EXPECT_THROW(RankTable::Parse(""), std::runtime_error);
  EXPECT_THROW(RankTable::Parse(TiktokenFile({}) + "YWI=\n"), std::runtime_error);           // no rank
  EXPECT_THROW(RankTable::Parse(TiktokenFile({}) + "Y!I= 300\n"), std::runtime_error);       // bad base64
  EXPECT_THROW(RankTable::Parse(TiktokenFile({}) + "YWI= x\n"), std::runtime_error);         // bad rank
  EXPECT_THROW(RankTable::Parse(TiktokenFile({}) + "YWI= 5\n"), std::runtime_error);         // duplicate rank
  EXPECT_THROW(RankTable::Parse(TiktokenFile({"ab"}) + "YWI= 999\n"), std::runtime_error);   // duplicate token
  EXPECT_THROW(RankTable::Parse(TiktokenFile({}) + "YWI= 99999999\n"), std::runtime_error);  // absurd rank
  EXPECT_THROW(RankTable::Parse("YQ== 0\n"), std::runtime_error);                            // bytes without a rank
  try {
    RankTable::Parse(TiktokenFile({}) + "\nY!I= 300\n");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("line 258"), std::string::npos) << e.what();
  }
}

TEST(BytePairMerge, LowestRankFirstLeftmostOnTies) {
  // aa=256 before ab=257; "aaab": merge the leftmost "aa", then "ab" -> [aa][ab].
  const RankTable t = RankTable::Parse(TiktokenFile({"aa", "ab", "aaa"}));
  EXPECT_EQ(Scan(t, "aaab"), (std::vector<int>{256, 257}));
  EXPECT_EQ(Heap(t, "aaab"), (std::vector<int>{256, 257}));
  // "aaaa": [aa][aa] (leftmost aa first, then the remaining pair), never [a][aaa].
  EXPECT_EQ(Scan(t, "aaaa"), (std::vector<int>{256, 256}));
  EXPECT_EQ(Heap(t, "aaaa"), (std::vector<int>{256, 256}));
  EXPECT_EQ(Scan(t, "x"), (std::vector<int>{'x'}));
  EXPECT_EQ(Heap(t, "x"), (std::vector<int>{'x'}));
  EXPECT_EQ(Scan(t, "xyz"), (std::vector<int>{'x', 'y', 'z'}));
}

TEST(BytePairMerge, ScanAndHeapAgreeOnRandomPiecesSyntheticRanks) {
  const RankTable t = RankTable::Parse(
      TiktokenFile({"ab", "ba", "aa", "bb", "abc", "cab", "aab", "bba", "abab", "cc", "ccc", "abcab", "bc", "aaaa"}));
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string piece(1 + rng() % 300, 'a');
    for (char& c : piece) c = static_cast<char>('a' + rng() % 3);
    ASSERT_EQ(Scan(t, piece), Heap(t, piece)) << piece;
  }
}

class BytePairMergeReal : public test_support::TokenizerTest {};

TEST_F(BytePairMergeReal, ScanAndHeapAgreeOnRandomPiecesRealRanks) {
  std::ifstream in(Tokenizer::DefaultPath(), std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  const RankTable t = RankTable::Parse(contents.str());
  const std::vector<std::string> alphabet = {"e", "t", "a", "o", "n", "s", "th", "in", "er", "é", "中", "=", " ", "\n"};
  std::mt19937 rng(11);
  for (int i = 0; i < 500; ++i) {
    std::string piece;
    const std::size_t parts = 1 + rng() % 200;
    for (std::size_t k = 0; k < parts; ++k) piece += alphabet[rng() % alphabet.size()];
    ASSERT_EQ(Scan(t, piece), Heap(t, piece)) << piece;
  }
}

}  // namespace
}  // namespace studio::search::detail
