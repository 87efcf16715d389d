// Clock readings in nanoseconds.
#ifndef WARDEN_BASE_CLOCK_H_
#define WARDEN_BASE_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace warden::base {

inline int64_t ClockNs(clockid_t clock) {
  struct timespec ts;
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

inline int64_t MonotonicNs() { return ClockNs(CLOCK_MONOTONIC); }

}  // namespace warden::base

#endif  // WARDEN_BASE_CLOCK_H_
