#pragma once
// The standard Prometheus process metrics (as the official clients export them), read from /proc/self.

#include <cstdint>

#include "obs/metrics.hpp"

namespace studio::obs {

/// A snapshot of this process's resource use.
struct ProcessStats {
  std::uint64_t rss_bytes = 0;      ///< resident set size
  std::uint64_t virtual_bytes = 0;  ///< virtual memory size
  double cpu_seconds = 0;           ///< user + system CPU time of all threads, live and exited
  std::uint64_t open_fds = 0;       ///< file descriptors open right now
  std::uint64_t max_fds = 0;        ///< soft RLIMIT_NOFILE (UINT64_MAX when unlimited)
  /// Process start, Unix time; 1 s resolution, as the kernel's boot time is whole seconds.
  double start_time_seconds = 0;
  double uptime_seconds = 0;  ///< time since the process started, from CLOCK_BOOTTIME (10 ms resolution)
};

/// Reads /proc/self/stat, /proc/stat, /proc/self/fd and the fd limit. Throws std::system_error when
/// /proc cannot be read and std::runtime_error when its contents cannot be parsed.
ProcessStats ReadProcessStats();

/// Adds a collector exporting, on every scrape: process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_cpu_seconds_total, process_open_fds, process_max_fds,
/// process_start_time_seconds and process_uptime_seconds.
void RegisterProcessMetrics(Registry& registry);

}  // namespace studio::obs
