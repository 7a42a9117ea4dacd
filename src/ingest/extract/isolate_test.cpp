#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ingest/extract/extract.hpp"
#include "ingest/extract/test_files.hpp"

namespace studio::extract {
namespace {

using testing::ErrorCode;
using testing::TempDir;

void CrashHook() {
  signal(SIGSEGV, SIG_DFL);  // past any sanitizer handler: die by the signal itself
  raise(SIGSEGV);
}

void AbortHook() { std::abort(); }

void SpinHook() {
  volatile unsigned long counter = 0;
  for (;;) counter = counter + 1;
}

void SleepHook() {
  for (;;) pause();
}

// Hangs the first child that runs it (the way a child stuck on an inherited allocator lock hangs),
// lets later ones through. The marker file is created before any child forks' decision, by name.
char g_hang_marker[256] = "";
void HangOnceHook() {
  const int fd = open(g_hang_marker, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return;  // an earlier child already hung
  close(fd);
  for (;;) pause();
}

[[maybe_unused]] void AllocateHook() {
  std::vector<std::vector<char>> hog;
  for (;;) hog.emplace_back(64u << 20, 'x');  // touches every page
}

class IsolateTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(IsolateTest, ResultMatchesInProcessExtraction) {
  testing::PdfSpec spec;
  spec.pages = {{"Grüße — naïve café"}, {"Second page"}};
  spec.title = "Isolated";
  const std::string pdf = dir_.Path("doc.pdf");
  testing::WritePdf(pdf, spec);

  const auto direct = Extract(pdf, Format::kPdf, ExtractLimits{});
  const auto isolated = ExtractIsolated(pdf, Format::kPdf, ExtractLimits{});
  EXPECT_EQ(isolated.format, Format::kPdf);
  EXPECT_EQ(isolated.text, direct.text);
  EXPECT_EQ(isolated.title, "Isolated");
  EXPECT_EQ(isolated.page_count, 2);
  ASSERT_EQ(isolated.pages.size(), 2u);
  EXPECT_EQ(isolated.pages[1].begin, direct.pages[1].begin);
  EXPECT_EQ(isolated.pages[1].end, direct.pages[1].end);
  ASSERT_EQ(isolated.sections.size(), direct.sections.size());

  const std::string md = dir_.Write("doc.md", "# Title\n\n## Part\n\nBody\n");
  const auto markdown = ExtractIsolated(md, Format::kMarkdown, ExtractLimits{});
  ASSERT_EQ(markdown.sections.size(), 2u);
  EXPECT_EQ(markdown.sections[1].heading_path, "Title > Part");
  EXPECT_EQ(markdown.detected_encoding, "UTF-8");
}

TEST_F(IsolateTest, ExtractErrorsComeBackUnchanged) {
  const std::string empty = dir_.Write("empty.txt", "");
  try {
    ExtractIsolated(empty, Format::kText, ExtractLimits{});
    FAIL() << "expected EMPTY_DOCUMENT";
  } catch (const ExtractError& e) {
    EXPECT_EQ(e.code(), "EMPTY_DOCUMENT");
    EXPECT_TRUE(e.permanent());
  }
  const std::string missing = dir_.Path("missing.txt");
  EXPECT_EQ(ErrorCode([&] { ExtractIsolated(missing, Format::kText, ExtractLimits{}); }), "IO_ERROR");
}

TEST_F(IsolateTest, CrashingChildIsReportedAndTheParentSurvives) {
  const std::string path = dir_.Write("doc.txt", "hello");
  for (void (*hook)() : {&CrashHook, &AbortHook}) {
    IsolationOptions options;
    options.child_hook = hook;
    try {
      ExtractIsolated(path, Format::kText, ExtractLimits{}, options);
      FAIL() << "expected PARSER_CRASHED";
    } catch (const ExtractError& e) {
      EXPECT_EQ(e.code(), "PARSER_CRASHED");
      EXPECT_TRUE(e.permanent());
    }
  }
  // Still alive, and the next extraction works.
  EXPECT_EQ(ExtractIsolated(path, Format::kText, ExtractLimits{}).text, "hello");
}

TEST_F(IsolateTest, CpuLimitIsATimeout) {
  IsolationOptions options;
  options.child_hook = &SpinHook;
  options.cpu_seconds = 1;
  const std::string path = dir_.Write("doc.txt", "hello");
  try {
    ExtractIsolated(path, Format::kText, ExtractLimits{}, options);
    FAIL() << "expected PARSER_TIMEOUT";
  } catch (const ExtractError& e) {
    EXPECT_EQ(e.code(), "PARSER_TIMEOUT") << e.what();
    EXPECT_TRUE(e.permanent());
  }
}

TEST_F(IsolateTest, WallClockLimitIsATimeout) {
  IsolationOptions options;
  options.child_hook = &SleepHook;
  options.wall_timeout = std::chrono::milliseconds(200);
  const std::string path = dir_.Write("doc.txt", "hello");
  EXPECT_EQ(ErrorCode([&] { ExtractIsolated(path, Format::kText, ExtractLimits{}, options); }), "PARSER_TIMEOUT");
}

TEST_F(IsolateTest, AChildThatNeverStartsIsReplacedByAFreshOne) {
  const std::string marker = dir_.Path("hung-once");
  std::snprintf(g_hang_marker, sizeof g_hang_marker, "%s", marker.c_str());
  IsolationOptions options;
  options.start_hook = &HangOnceHook;
  options.start_timeout = std::chrono::milliseconds(300);
  const std::string path = dir_.Write("doc.txt", "hello");
  EXPECT_EQ(ExtractIsolated(path, Format::kText, ExtractLimits{}, options).text, "hello");
  EXPECT_EQ(access(marker.c_str(), F_OK), 0);  // the first child did hang

  // Children that never start at all: a timeout after start_attempts of them, not a wait forever.
  unlink(marker.c_str());
  options.start_hook = &SleepHook;
  options.start_attempts = 2;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(ErrorCode([&] { ExtractIsolated(path, Format::kText, ExtractLimits{}, options); }), "PARSER_TIMEOUT");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_F(IsolateTest, AChildThatStallsAfterStartingIsReplacedWhenAllowed) {
  const std::string marker = dir_.Path("stalled-once");
  std::snprintf(g_hang_marker, sizeof g_hang_marker, "%s", marker.c_str());
  IsolationOptions options;
  options.child_hook = &HangOnceHook;  // the first child hangs while extracting, the next one works
  options.stall_timeout = std::chrono::milliseconds(300);
  const std::string path = dir_.Write("doc.txt", "hello");
  EXPECT_EQ(ExtractIsolated(path, Format::kText, ExtractLimits{}, options).text, "hello");
  EXPECT_EQ(access(marker.c_str(), F_OK), 0);  // the first child did hang

  // Without a stall limit the same hang is the wall-clock timeout: nothing is retried.
  unlink(marker.c_str());
  options.stall_timeout = std::chrono::milliseconds(0);
  options.wall_timeout = std::chrono::milliseconds(500);
  EXPECT_EQ(ErrorCode([&] { ExtractIsolated(path, Format::kText, ExtractLimits{}, options); }), "PARSER_TIMEOUT");
}

TEST_F(IsolateTest, OutOfMemoryIsACrash) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "RLIMIT_AS is not applied under AddressSanitizer";
#else
  IsolationOptions options;
  options.child_hook = &AllocateHook;
  options.address_space_bytes = 256u << 20;
  const std::string path = dir_.Write("doc.txt", "hello");
  EXPECT_EQ(ErrorCode([&] { ExtractIsolated(path, Format::kText, ExtractLimits{}, options); }), "PARSER_CRASHED");
#endif
}

}  // namespace
}  // namespace studio::extract
