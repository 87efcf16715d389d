#include "base/trace.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/resource.h>

#include "base/clock.h"

namespace warden::base {
namespace {

double NowMs() { return static_cast<double>(MonotonicNs()) / 1e6; }

}  // namespace

bool TraceEnabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("WARDEN_TRACE_STARTUP");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

void TracePhase(const char* phase) {
  if (!TraceEnabled()) return;
  static const double origin = NowMs();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::fprintf(stderr, "warden: trace: +%.2f ms %s (%ld faults)\n", NowMs() - origin, phase,
               ru.ru_minflt);
}

}  // namespace warden::base
