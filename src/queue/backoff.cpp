#include "queue/backoff.hpp"

#include <algorithm>
#include <cstdint>

namespace studio::queue {

std::chrono::milliseconds RetryDelay(const BackoffPolicy& policy, int failures, double random01) {
  const std::int64_t base = std::max<std::int64_t>(policy.base.count(), 0);
  const std::int64_t cap = std::max<std::int64_t>(policy.cap.count(), 0);
  // Double until the cap; stops early, so no shift ever overflows.
  std::int64_t ceiling = std::min(base, cap);
  for (int i = 1; i < failures && ceiling > 0 && ceiling < cap; ++i) ceiling = std::min(ceiling * 2, cap);
  const double r = std::clamp(random01, 0.0, 1.0);
  const std::int64_t half = ceiling / 2;
  auto jitter = static_cast<std::int64_t>(r * static_cast<double>(ceiling - half));
  return std::chrono::milliseconds(half + std::min(jitter, ceiling - half));
}

}  // namespace studio::queue
