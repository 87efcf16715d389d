#include "base/trace.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/clock.h"
#include "base/raw_syscall.h"

namespace warden::base {

bool TraceEnabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("WARDEN_TRACE_STARTUP");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

// Also called in the sandbox's first process and the job before its exec,
// which share warden's memory: no stdio, no allocation, raw system calls
// (base/raw_syscall.h), integer formatting only.
void TracePhase(const char* phase) {
  if (!TraceEnabled()) return;
  static const int64_t origin_ns = MonotonicNs();
  const int64_t us = (MonotonicNs() - origin_ns) / 1000;
  struct rusage ru;
  std::memset(&ru, 0, sizeof ru);
  sys::Getrusage(RUSAGE_SELF, &ru);
  char line[256];
  int n = std::snprintf(line, sizeof line, "warden: trace: +%lld.%02lld ms %s (%ld faults)\n",
                        static_cast<long long>(us / 1000), static_cast<long long>(us % 1000 / 10),
                        phase, ru.ru_minflt);
  if (n > 0) sys::Write(2, line, static_cast<size_t>(n) < sizeof line ? static_cast<size_t>(n) : sizeof line - 1);
}

}  // namespace warden::base
