// Start-up phase timing for benchmarks and diagnosis. With
// WARDEN_TRACE_STARTUP=1 in the environment, each TracePhase call writes
// "warden: trace: +<ms since the first call> <phase> (<N> faults)" to
// stderr, N being the calling process's minor page faults so far (on a
// virtual machine a fault can cost 10-20 us, often more than the work);
// otherwise a call costs one branch on a cached flag.
#ifndef WARDEN_BASE_TRACE_H_
#define WARDEN_BASE_TRACE_H_

namespace warden::base {

void TracePhase(const char* phase);

// Whether WARDEN_TRACE_STARTUP=1 is set (cached).
bool TraceEnabled();

}  // namespace warden::base

#endif  // WARDEN_BASE_TRACE_H_
