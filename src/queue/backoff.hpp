#pragma once
// Retry delays for failed jobs: exponential backoff with "equal jitter". The ceiling doubles with
// every failure (base, 2·base, 4·base, … up to cap) and the delay is drawn uniformly from its upper
// half, so retries of jobs that failed together spread out but never come back sooner than half
// the ceiling. With the defaults the first retry waits 1–2 s and no retry waits more than 10 min.

#include <chrono>

namespace studio::queue {

struct BackoffPolicy {
  /// Ceiling of the first delay.
  std::chrono::milliseconds base{2000};
  /// Largest ceiling.
  std::chrono::milliseconds cap{std::chrono::minutes(10)};
};

/// The delay before the next attempt after `failures` failed attempts (1 = the first failure).
/// `random01` is a uniform number in [0, 1) (clamped into it); values ≤ 0 for failures count as 1.
/// A pure function: the caller supplies the randomness.
std::chrono::milliseconds RetryDelay(const BackoffPolicy& policy, int failures, double random01);

}  // namespace studio::queue
