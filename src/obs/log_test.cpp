#include "obs/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iomanip>
#include <limits>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "obs/redact.hpp"

namespace studio::obs {
namespace {

// Captures every line through SetSinkForTesting and restores stdout and the level afterwards.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_level_ = GetLevel();
    SetLevel(Level::kInfo);
    SetSinkForTesting([this](std::string_view line) {
      std::lock_guard lock(mu_);
      lines_.emplace_back(line);
    });
  }
  void TearDown() override {
    SetSinkForTesting({});
    SetLevel(saved_level_);
  }

  std::vector<std::string> Lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

  // The only captured line, parsed; fails the test unless it is exactly one '\n'-terminated JSON object.
  Json OnlyLine() {
    std::vector<std::string> lines = Lines();
    EXPECT_EQ(lines.size(), 1u);
    if (lines.size() != 1) return Json();
    return ParseLine(lines[0]);
  }

  static Json ParseLine(const std::string& line) {
    EXPECT_FALSE(line.empty());
    if (line.empty()) return Json();
    EXPECT_EQ(line.back(), '\n') << line;
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "embedded newline in " << line;
    Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(parsed.is_object()) << line;
    return parsed;
  }

 private:
  Level saved_level_ = Level::kInfo;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST_F(LogTest, LineHasTimeLevelMsgFirstThenFields) {
  LogInfo("listening", {{"port", 8080}, {"host", "0.0.0.0"}});
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string& line = lines[0];
  EXPECT_TRUE(line.starts_with("{\"time\":\"")) << line;
  EXPECT_NE(line.find("\",\"level\":\"info\",\"msg\":\"listening\","), std::string::npos) << line;
  Json j = ParseLine(line);
  ASSERT_TRUE(j.contains("time"));
  EXPECT_TRUE(
      std::regex_match(j["time"].get<std::string>(), std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")))
      << j["time"];
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "listening");
  EXPECT_EQ(j["port"], 8080);
  EXPECT_EQ(j["host"], "0.0.0.0");
  EXPECT_EQ(j.size(), 5u);
}

TEST_F(LogTest, TimeIsCurrentUtc) {
  std::time_t before = std::time(nullptr);
  LogInfo("tick");
  std::time_t after = std::time(nullptr);
  Json j = OnlyLine();
  std::tm tm{};
  std::istringstream in(j["time"].get<std::string>());
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  ASSERT_FALSE(in.fail()) << j["time"];
  std::time_t logged = timegm(&tm);
  EXPECT_GE(logged, before);
  EXPECT_LE(logged, after);
}

TEST_F(LogTest, EachHelperWritesItsLevel) {
  SetLevel(Level::kDebug);
  LogDebug("d");
  LogInfo("i");
  LogWarn("w");
  LogError("e");
  Log(Level::kWarn, "direct");
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(ParseLine(lines[0])["level"], "debug");
  EXPECT_EQ(ParseLine(lines[1])["level"], "info");
  EXPECT_EQ(ParseLine(lines[2])["level"], "warn");
  EXPECT_EQ(ParseLine(lines[3])["level"], "error");
  EXPECT_EQ(ParseLine(lines[4])["level"], "warn");
  EXPECT_EQ(ParseLine(lines[4])["msg"], "direct");
}

TEST_F(LogTest, LinesBelowTheLevelAreDropped) {
  EXPECT_EQ(GetLevel(), Level::kInfo);
  EXPECT_FALSE(LogEnabled(Level::kDebug));
  EXPECT_TRUE(LogEnabled(Level::kInfo));
  LogDebug("hidden");
  LogInfo("shown");
  SetLevel(Level::kWarn);
  EXPECT_EQ(GetLevel(), Level::kWarn);
  EXPECT_FALSE(LogEnabled(Level::kInfo));
  EXPECT_TRUE(LogEnabled(Level::kError));
  LogInfo("hidden");
  LogWarn("shown");
  SetLevel(Level::kError);
  LogWarn("hidden");
  LogError("shown");
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) EXPECT_EQ(ParseLine(line)["msg"], "shown");
}

TEST(LogLevelTest, ParseAndName) {
  EXPECT_EQ(ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(ParseLevel("INFO"), Level::kInfo);
  EXPECT_EQ(ParseLevel("Warn"), Level::kWarn);
  EXPECT_EQ(ParseLevel("warning"), Level::kWarn);
  EXPECT_EQ(ParseLevel("ERROR"), Level::kError);
  EXPECT_THROW(ParseLevel(""), std::invalid_argument);
  EXPECT_THROW(ParseLevel("trace"), std::invalid_argument);
  EXPECT_THROW(ParseLevel("info "), std::invalid_argument);
  EXPECT_EQ(LevelName(Level::kDebug), "debug");
  EXPECT_EQ(LevelName(Level::kInfo), "info");
  EXPECT_EQ(LevelName(Level::kWarn), "warn");
  EXPECT_EQ(LevelName(Level::kError), "error");
}

TEST_F(LogTest, SecretsInFieldsAreRedacted) {
  LogInfo("request", Json::parse(R"({"authorization":"Bearer x","password":"p","nested":{"api_key":"k","ok":"v"},
                                     "list":[{"Set-Cookie":"sid=1"}],"prompt_tokens":12,"user":"bob"})"));
  std::string raw = Lines().at(0);
  Json j = OnlyLine();
  EXPECT_EQ(j["authorization"], kRedacted);
  EXPECT_EQ(j["password"], kRedacted);
  EXPECT_EQ(j["nested"]["api_key"], kRedacted);
  EXPECT_EQ(j["nested"]["ok"], "v");
  EXPECT_EQ(j["list"][0]["Set-Cookie"], kRedacted);
  EXPECT_EQ(j["prompt_tokens"], 12);
  EXPECT_EQ(j["user"], "bob");
  EXPECT_EQ(raw.find("Bearer x"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("sid=1"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("\"k\""), std::string::npos) << raw;
}

TEST_F(LogTest, PersonalDataInMsgAndFieldsIsRedacted) {
  LogWarn("contact alice@example.com, card 4111 1111 1111 1111, phone +1 415 555 0123",
          {{"note", "reach bob@corp.example.org or (415) 555-0199"}, {"request_id", "req_4111111111111111"}});
  Json j = OnlyLine();
  EXPECT_EQ(j["msg"], "contact [EMAIL], card [CARD], phone [PHONE]");
  EXPECT_EQ(j["note"], "reach [EMAIL] or [PHONE]");
  EXPECT_EQ(j["request_id"], "req_4111111111111111");
}

TEST_F(LogTest, ReservedFieldNamesAreRenamed) {
  LogInfo("real", {{"time", "fake"}, {"level", "fake"}, {"msg", "fake"}, {"other", 1}});
  Json j = OnlyLine();
  EXPECT_EQ(j["msg"], "real");
  EXPECT_EQ(j["level"], "info");
  EXPECT_NE(j["time"], "fake");
  EXPECT_EQ(j["fields.time"], "fake");
  EXPECT_EQ(j["fields.level"], "fake");
  EXPECT_EQ(j["fields.msg"], "fake");
  EXPECT_EQ(j["other"], 1);
  // No duplicate keys: the raw line has each of the three exactly once.
  std::string raw = Lines().at(0);
  for (const char* key : {"\"time\":", "\"level\":", "\"msg\":"}) {
    EXPECT_EQ(raw.find(key), raw.rfind(key)) << key << " twice in " << raw;
  }
}

TEST_F(LogTest, NonObjectFieldsGoUnderFields) {
  LogInfo("array", Json::array({1, "two@example.com"}));
  LogInfo("string", "plain");
  LogInfo("number", 3);
  LogInfo("null", nullptr);
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(ParseLine(lines[0])["fields"], Json::array({1, "[EMAIL]"}));
  EXPECT_EQ(ParseLine(lines[1])["fields"], "plain");
  EXPECT_EQ(ParseLine(lines[2])["fields"], 3);
  Json null_line = ParseLine(lines[3]);
  EXPECT_FALSE(null_line.contains("fields"));
  EXPECT_EQ(null_line.size(), 3u);
}

TEST_F(LogTest, ControlCharactersAndInvalidUtf8StillMakeOneValidLine) {
  std::string nasty = "line1\nline2\r\t\x01\x1f\x7f \"quoted\" back\\slash \xFF\xFE bad \xC3 end";
  nasty += '\0';
  nasty += "after-nul";
  Json fields;
  fields["value"] = nasty;
  fields["bad\xFFkey"] = 1;
  LogError(nasty, fields);
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string& raw = lines[0];
  for (char c : raw.substr(0, raw.size() - 1)) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in " << raw;
  }
  Json j = ParseLine(raw);
  std::string msg = j["msg"].get<std::string>();
  EXPECT_TRUE(msg.starts_with("line1\nline2\r\t\x01\x1f\x7f \"quoted\" back\\slash ")) << msg;
  EXPECT_NE(msg.find("\xEF\xBF\xBD"), std::string::npos) << msg;  // U+FFFD
  EXPECT_NE(msg.find(std::string("end\0after-nul", 13)), std::string::npos) << msg;
  EXPECT_EQ(j["value"], j["msg"]);
  EXPECT_TRUE(j.contains("bad\xEF\xBF\xBDkey")) << raw;
}

TEST_F(LogTest, ConcurrentLoggingThroughTheSinkKeepsLinesWhole) {
  constexpr int kThreads = 8;
  constexpr int kLines = 200;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) LogInfo("concurrent", {{"thread", t}, {"i", i}});
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kLines));
  std::set<std::pair<int, int>> seen;
  for (const std::string& line : lines) {
    Json j = ParseLine(line);
    seen.emplace(j["thread"].get<int>(), j["i"].get<int>());
  }
  EXPECT_EQ(seen.size(), lines.size());
}

// The real stdout path. stdout is a pipe (as under systemd or docker) and lines are longer than
// PIPE_BUF, so the kernel may split each write(2): only the logger's lock keeps lines whole.
TEST(LogStdoutTest, ConcurrentLinesToStdoutNeverInterleave) {
  SetSinkForTesting({});
  Level saved_level = GetLevel();
  SetLevel(Level::kInfo);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  std::string output;
  std::thread reader([&output, read_end = fds[0]] {
    char buf[4096];
    while (true) {
      ssize_t n = ::read(read_end, buf, sizeof buf);
      if (n <= 0) break;
      output.append(buf, static_cast<std::size_t>(n));
    }
  });
  std::fflush(stdout);
  int saved_stdout = ::dup(STDOUT_FILENO);
  ASSERT_GE(saved_stdout, 0);
  ASSERT_EQ(::dup2(fds[1], STDOUT_FILENO), STDOUT_FILENO);

  // No gtest assertions until stdout is restored: their messages would land in the pipe.
  constexpr int kThreads = 6;
  constexpr int kLines = 50;
  const std::string padding(std::size_t{3} * 4096, 'x');
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &padding] {
      for (int i = 0; i < kLines; ++i) LogInfo("stdout line", {{"thread", t}, {"i", i}, {"padding", padding}});
    });
  }
  for (auto& thread : threads) thread.join();

  std::fflush(stdout);
  ::dup2(saved_stdout, STDOUT_FILENO);  // drops the last reference to the write end but fds[1]
  ::close(saved_stdout);
  ::close(fds[1]);  // the reader now sees EOF
  reader.join();
  ::close(fds[0]);
  SetLevel(saved_level);

  std::istringstream in(output);
  std::string line;
  std::set<std::pair<int, int>> seen;
  int count = 0;
  while (std::getline(in, line)) {
    ++count;
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << "line " << count << " is not JSON (" << line.size() << " bytes)";
    EXPECT_EQ(j["padding"], padding);
    seen.emplace(j["thread"].get<int>(), j["i"].get<int>());
  }
  EXPECT_EQ(count, kThreads * kLines);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kLines));
}

TEST(LogStdoutTest, LoggingDoesNotThrowForOddInput) {
  // Log is noexcept; values nlohmann could choke on (NaN, invalid UTF-8 keys) must not terminate.
  std::vector<std::string> lines;
  SetSinkForTesting([&lines](std::string_view line) { lines.emplace_back(line); });
  LogInfo("nan", {{"v", std::numeric_limits<double>::quiet_NaN()}});
  SetSinkForTesting({});
  ASSERT_EQ(lines.size(), 1u);
  Json j = Json::parse(lines[0], nullptr, false);
  ASSERT_TRUE(j.is_object()) << lines[0];
  EXPECT_TRUE(j["v"].is_null());  // JSON has no NaN; nlohmann writes null
}

}  // namespace
}  // namespace studio::obs

namespace studio::obs {
namespace {

TEST(LogTrusted, WritesOneValidJsonLineWithEscapes) {
  std::vector<std::string> lines;
  SetSinkForTesting([&lines](std::string_view line) { lines.emplace_back(line); });
  LogTrusted(Level::kInfo, "request",
             {{"route", "/a/\"{id}\"\\"}, {"status", std::int64_t{200}}, {"ms", 1.5}, {"odd", "x\n\x01\xff"}});
  LogTrusted(Level::kDebug, "dropped", {});
  SetSinkForTesting({});
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0].back(), '\n');
  Json j = Json::parse(lines[0]);
  EXPECT_EQ(j["msg"], "request");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["route"], "/a/\"{id}\"\\");
  EXPECT_EQ(j["status"], 200);
  EXPECT_DOUBLE_EQ(j["ms"].get<double>(), 1.5);
  EXPECT_EQ(j["odd"], "x\n\x01\xEF\xBF\xBD");
  EXPECT_TRUE(j.contains("time"));
}

}  // namespace
}  // namespace studio::obs
