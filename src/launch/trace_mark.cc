// Start-up marks of the program around the library (warden/diagnostics.h).
#include "base/trace.h"
#include "warden/diagnostics.h"

namespace warden {

void TraceMark(const char* phase) { base::TracePhase(phase); }

}  // namespace warden
