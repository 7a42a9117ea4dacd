#pragma once
// Wall-clock time as stored in the database and shown in APIs: Unix milliseconds or seconds (UTC).

#include <chrono>
#include <cstdint>

namespace studio {

inline std::int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace studio
