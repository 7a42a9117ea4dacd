#include "obs/process_metrics.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace studio::obs {
namespace {

std::string ReadProcFile(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), std::string("open ") + path);
  std::string content;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw std::system_error(err, std::generic_category(), std::string("read ") + path);
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

std::uint64_t ParseUint(std::string_view text, const char* what) {
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw std::runtime_error(std::string("cannot parse ") + what + " from '" + std::string(text) + "'");
  }
  return value;
}

// The fields of /proc/self/stat after "pid (comm)". comm may contain spaces and ')', so split after the
// last ')'. Index 0 is field 3 (state) of proc(5).
std::vector<std::string_view> StatFields(std::string_view stat) {
  std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) throw std::runtime_error("cannot parse /proc/self/stat");
  std::vector<std::string_view> fields;
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    std::size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    std::size_t end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  return fields;
}

// proc(5) field numbers minus 3, see StatFields.
constexpr std::size_t kUtimeField = 14 - 3;
constexpr std::size_t kStimeField = 15 - 3;
constexpr std::size_t kStartTimeField = 22 - 3;
constexpr std::size_t kVsizeField = 23 - 3;
constexpr std::size_t kRssField = 24 - 3;

double BootTimeSeconds() {
  std::string stat = ReadProcFile("/proc/stat");
  std::size_t pos = stat.find("\nbtime ");
  if (pos == std::string::npos) throw std::runtime_error("no btime in /proc/stat");
  pos += 7;
  std::size_t end = stat.find('\n', pos);
  return static_cast<double>(ParseUint(std::string_view(stat).substr(pos, end - pos), "btime"));
}

double BootClockSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::uint64_t CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) throw std::system_error(errno, std::generic_category(), "opendir /proc/self/fd");
  int own = ::dirfd(dir);
  std::uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    // The descriptor reading the directory is ours, not the process's.
    if (name == std::to_string(own)) continue;
    ++count;
  }
  ::closedir(dir);
  return count;
}

}  // namespace

ProcessStats ReadProcessStats() {
  static const double kTicksPerSecond = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const auto kPageSize = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));

  std::string stat = ReadProcFile("/proc/self/stat");
  std::vector<std::string_view> fields = StatFields(stat);
  if (fields.size() <= kRssField) throw std::runtime_error("/proc/self/stat has too few fields");

  ProcessStats stats;
  stats.rss_bytes = ParseUint(fields[kRssField], "rss") * kPageSize;
  stats.virtual_bytes = ParseUint(fields[kVsizeField], "vsize");
  stats.cpu_seconds =
      static_cast<double>(ParseUint(fields[kUtimeField], "utime") + ParseUint(fields[kStimeField], "stime")) /
      kTicksPerSecond;
  double started_after_boot = static_cast<double>(ParseUint(fields[kStartTimeField], "starttime")) / kTicksPerSecond;
  // Read once: btime only moves when the wall clock is stepped, and a start time that wobbled between
  // scrapes would look like restarts to changes(process_start_time_seconds[...]).
  static const double start_time = BootTimeSeconds() + started_after_boot;
  stats.start_time_seconds = start_time;
  stats.uptime_seconds = BootClockSeconds() - started_after_boot;
  stats.open_fds = CountOpenFds();

  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    throw std::system_error(errno, std::generic_category(), "getrlimit RLIMIT_NOFILE");
  }
  stats.max_fds = limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max() : limit.rlim_cur;
  return stats;
}

void RegisterProcessMetrics(Registry& registry) {
  registry.AddCollector([](MetricWriter& out) {
    ProcessStats stats = ReadProcessStats();
    out.WriteGauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                   static_cast<double>(stats.rss_bytes));
    out.WriteGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                   static_cast<double>(stats.virtual_bytes));
    out.WriteCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                     stats.cpu_seconds);
    out.WriteGauge("process_open_fds", "Number of open file descriptors.", static_cast<double>(stats.open_fds));
    out.WriteGauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(stats.max_fds));
    out.WriteGauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                   stats.start_time_seconds);
    out.WriteGauge("process_uptime_seconds", "Time since the process started in seconds.", stats.uptime_seconds);
  });
}

}  // namespace studio::obs
