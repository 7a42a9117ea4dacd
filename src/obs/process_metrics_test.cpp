#include "obs/process_metrics.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace studio::obs {
namespace {

double NowUnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Spins until this process has used at least `seconds` of CPU time (by the C library's own clock).
void BurnCpu(double seconds) {
  std::clock_t start = std::clock();
  volatile std::uint64_t sink = 0;
  while (static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC < seconds) {
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<std::uint64_t>(i);
  }
}

TEST(ProcessStatsTest, ValuesArePlausible) {
  ProcessStats stats = ReadProcessStats();
  EXPECT_GT(stats.rss_bytes, 0u);
  EXPECT_GT(stats.virtual_bytes, 0u);
  EXPECT_GE(stats.virtual_bytes, stats.rss_bytes);
  EXPECT_GE(stats.cpu_seconds, 0);
  EXPECT_GE(stats.open_fds, 3u);  // stdin, stdout, stderr at least
  EXPECT_GT(stats.max_fds, 0u);
  EXPECT_LE(stats.open_fds, stats.max_fds);
  double now = NowUnixSeconds();
  EXPECT_GT(stats.start_time_seconds, 1.5e9);  // after 2017
  EXPECT_LE(stats.start_time_seconds, now + 1);
  EXPECT_GE(stats.uptime_seconds, 0);
  // Started when it says, running as long as it says: the two agree within the 1 s btime resolution.
  EXPECT_NEAR(stats.start_time_seconds + stats.uptime_seconds, now, 2.0);
}

TEST(ProcessStatsTest, OpenFdCountFollowsOpenAndClose) {
  std::uint64_t before = ReadProcessStats().open_fds;
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  EXPECT_EQ(ReadProcessStats().open_fds, before + 3);
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(ReadProcessStats().open_fds, before);
}

TEST(ProcessStatsTest, CpuSecondsNeverDecreaseAndGrowWithWork) {
  double previous = ReadProcessStats().cpu_seconds;
  for (int i = 0; i < 20; ++i) {
    double current = ReadProcessStats().cpu_seconds;
    EXPECT_GE(current, previous);
    previous = current;
  }
  // Ticks are 10 ms; 150 ms of spinning must show.
  BurnCpu(0.15);
  double after = ReadProcessStats().cpu_seconds;
  EXPECT_GE(after, previous + 0.1);
}

TEST(ProcessStatsTest, StartTimeIsStableAndUptimeAdvances) {
  ProcessStats first = ReadProcessStats();
  BurnCpu(0.05);
  ProcessStats second = ReadProcessStats();
  EXPECT_EQ(first.start_time_seconds, second.start_time_seconds);
  EXPECT_GT(second.uptime_seconds, first.uptime_seconds);
}

TEST(ProcessMetricsTest, RegisterExportsTheStandardMetrics) {
  Registry registry;
  RegisterProcessMetrics(registry);
  std::string text = registry.RenderPrometheus();
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"process_cpu_seconds_total", "counter"},
      {"process_max_fds", "gauge"},
      {"process_open_fds", "gauge"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_start_time_seconds", "gauge"},
      {"process_uptime_seconds", "gauge"},
      {"process_virtual_memory_bytes", "gauge"},
  };
  std::size_t last = 0;
  for (const auto& [name, type] : expected) {
    std::size_t pos = text.find(std::string("# TYPE ").append(name).append(" ").append(type).append("\n"));
    ASSERT_NE(pos, std::string::npos) << name << "\n" << text;
    EXPECT_GE(pos, last) << "not sorted: " << name;
    last = pos;
    EXPECT_NE(text.find("# HELP " + name + " "), std::string::npos) << name;
    // One unlabelled sample per metric, with a positive value for those that cannot be 0.
    std::size_t sample = text.find("\n" + name + " ");
    ASSERT_NE(sample, std::string::npos) << name;
    double value = std::strtod(text.c_str() + sample + name.size() + 2, nullptr);
    if (name != "process_cpu_seconds_total" && name != "process_uptime_seconds") {
      EXPECT_GT(value, 0) << name;
    }
  }
  // Registering twice would make every scrape throw on the duplicate samples.
  RegisterProcessMetrics(registry);
  EXPECT_THROW(registry.RenderPrometheus(), std::logic_error);
}

TEST(ProcessMetricsTest, FdGaugeRisesWhenAFileIsOpened) {
  Registry registry;
  RegisterProcessMetrics(registry);
  auto open_fds = [&registry] {
    std::string text = registry.RenderPrometheus();
    std::size_t pos = text.find("\nprocess_open_fds ");
    EXPECT_NE(pos, std::string::npos);
    return std::strtod(text.c_str() + pos + 18, nullptr);
  };
  double before = open_fds();
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(open_fds(), before + 1);
  ::close(fd);
  EXPECT_EQ(open_fds(), before);
}

}  // namespace
}  // namespace studio::obs
