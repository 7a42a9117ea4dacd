#pragma once
// ISO-8601 UTC timestamps for response bodies ("2025-01-31T12:00:00Z", with ".123" for
// millisecond times): unambiguous for people and parsed by every client library.

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace studio::api::v1 {

inline std::string IsoUtcMs(std::int64_t ms, bool with_millis = true) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (with_millis) {
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  } else {
    std::snprintf(buf + n, sizeof buf - n, "Z");
  }
  return buf;
}

/// Unix seconds, without a fraction.
inline std::string IsoUtc(std::int64_t seconds) { return IsoUtcMs(seconds * 1000, false); }

}  // namespace studio::api::v1
