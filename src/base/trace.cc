#include "base/trace.h"

#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/clock.h"
#include "base/raw_syscall.h"

namespace warden::base {

namespace {

std::atomic<bool> trace_enabled{false};

}  // namespace

void SetTraceEnabled(bool enabled) { trace_enabled.store(enabled, std::memory_order_relaxed); }

bool TraceEnabled() { return trace_enabled.load(std::memory_order_relaxed); }

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
