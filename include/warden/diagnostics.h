// Process-wide diagnostic settings: start-up tracing, the event loop's
// backend, and the fault points that test rigs use. The library reads no
// environment variable; `warden` maps its WARDEN_* variables onto these
// (see the README's "Environment"). Call ConfigureDiagnostics once, before
// any job starts; it is not thread-safe against running jobs.
#ifndef WARDEN_DIAGNOSTICS_H_
#define WARDEN_DIAGNOSTICS_H_

#include <string>

#include "warden/export.h"
#include "warden/status.h"

namespace warden {

struct DiagnosticOptions {
  // Timestamped start-up marks on stderr (WARDEN_TRACE_STARTUP=1).
  bool trace_startup = false;
  // "plain" forces plain syscalls in the event loop instead of io_uring
  // (WARDEN_IO); empty: io_uring where the kernel allows it.
  std::string io_backend;
  // The mount path of kernels before 5.12, on any kernel (WARDEN_MOUNT_API
  // = "legacy"): for tests of that path.
  bool legacy_mount_api = false;
  // Crash point: "name" or "name:nth" kills the process with SIGKILL at the
  // nth hit of that point (WARDEN_FAULT); empty: none.
  std::string crash_point;
  // Test-only fault points of a launch: "<step>[:<errno>]" fails that step
  // of the sandbox's child (WARDEN_FAULT_CHILD_STEP), "<call>[:<errno>]"
  // that call of the launching process (WARDEN_FAULT_PARENT_CALL). Empty:
  // none. A fault never skips a step; it only makes the launch fail.
  std::string fault_child_step;
  std::string fault_parent_call;
};

// Checks and applies `options`; kInvalidArgument naming the bad one (an
// unknown crash point, step or call, a bad errno or backend).
WARDEN_EXPORT Status ConfigureDiagnostics(const DiagnosticOptions& options);

// A start-up mark for a program's own phases around the library's: with
// trace_startup on, writes "warden: trace: +<ms> <phase> (<N> faults)" to
// stderr, the time counted from the process's first mark and N its minor
// page faults so far; otherwise it costs one branch. `warden run` marks
// "main", "options parsed", "policy loaded" and "exit". `phase` is
// printed as it is (one line, no newline in it). Safe to call from any
// thread; lines of marks made at once may interleave.
WARDEN_EXPORT void TraceMark(const char* phase);

}  // namespace warden

#endif  // WARDEN_DIAGNOSTICS_H_
