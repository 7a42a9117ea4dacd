#include "llm/sse_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace studio::llm {
namespace {

// Feeds `stream` in pieces of `piece` bytes and returns the events, as "event|data".
std::vector<std::string> Parse(const std::string& stream, std::size_t piece, bool* ok = nullptr,
                               std::size_t max_bytes = 1 << 20) {
  SseParser parser(max_bytes);
  std::vector<std::string> out;
  bool fine = true;
  for (std::size_t at = 0; at < stream.size() && fine; at += piece) {
    fine = parser.Feed(std::string_view(stream).substr(at, piece),
                       [&](const SseEvent& e) { out.push_back(e.event + "|" + e.data); });
  }
  if (ok != nullptr) *ok = fine;
  return out;
}

TEST(SseParser, ParsesOpenAIStyleStreamsSplitAnywhere) {
  const std::string stream =
      ": keep-alive comment\n\n"
      "data: {\"a\":1}\n\n"
      "data: {\"b\":2}\r\n\r\n"
      "event: error\r"
      "data: line one\r"
      "data:line two\r\r"
      "data\n\n"               // a field without a colon: empty data, still an event
      "id: 7\nretry: 100\n\n"  // no data: not dispatched
      "data: [DONE]\n\n"
      "data: incomplete";
  const std::vector<std::string> expected = {"|{\"a\":1}", "|{\"b\":2}", "error|line one\nline two", "|", "|[DONE]"};
  for (std::size_t piece = 1; piece <= stream.size(); ++piece) {
    EXPECT_EQ(Parse(stream, piece), expected) << "piece " << piece;
  }
}

TEST(SseParser, ACarriageReturnEndingAPieceDoesNotMakeAnEmptyLine) {
  SseParser parser;
  std::vector<std::string> events;
  const auto on_event = [&](const SseEvent& e) { events.push_back(e.data); };
  ASSERT_TRUE(parser.Feed("data: x\r", on_event));
  ASSERT_TRUE(parser.Feed("\ndata: y\r\n", on_event));  // "\r" + "\n" is one line end
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(parser.Feed("\r\n", on_event));
  EXPECT_EQ(events, std::vector<std::string>{"x\ny"});
}

TEST(SseParser, RefusesEventsBeyondTheLimit) {
  bool ok = true;
  const std::string big = "data: " + std::string(300, 'x') + "\n\n";
  EXPECT_TRUE(Parse(big, 7, &ok, 1000).size() == 1 && ok);
  const std::string line_too_long = "data: " + std::string(2000, 'x');  // never ends
  EXPECT_TRUE(Parse(line_too_long, 100, &ok, 1000).empty());
  EXPECT_FALSE(ok);
  std::string many_lines;
  for (int i = 0; i < 20; ++i) many_lines += "data: " + std::string(90, 'y') + "\n";
  EXPECT_TRUE(Parse(many_lines + "\n", 50, &ok, 1000).empty());
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace studio::llm
