// Start-up phase timing for benchmarks and diagnosis. Once enabled
// (SetTraceEnabled: `warden` does so for WARDEN_TRACE_STARTUP=1, others
// through warden::ConfigureDiagnostics), each TracePhase call writes
// "warden: trace: +<ms since the first call> <phase> (<N> faults)" to
// stderr, N being the calling process's minor page faults so far (on a
// virtual machine a fault can cost 10-20 us, often more than the work);
// otherwise a call costs one branch on a cached flag.
#ifndef WARDEN_BASE_TRACE_H_
#define WARDEN_BASE_TRACE_H_

namespace warden::base {

void TracePhase(const char* phase);

// Turns the marks on or off for the whole process; call before jobs start.
void SetTraceEnabled(bool enabled);
// Whether the marks are on.
bool TraceEnabled();

}  // namespace warden::base

#endif  // WARDEN_BASE_TRACE_H_
