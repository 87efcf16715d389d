// Doctor: which host features warden uses work here, which backend was
// chosen and why, and what to do about those that do not (what `warden
// doctor` prints).
#ifndef WARDEN_DOCTOR_H_
#define WARDEN_DOCTOR_H_

#include <string>
#include <vector>

#include "warden/export.h"

namespace warden {

// One host feature and whether it works.
struct DoctorCheck {
  std::string section;  // the subsystem that checked: "sandbox", "seccomp",
                        // "cgroups", "network", "event loop"
  std::string name;     // the feature: "user namespaces", "cgroup memory"
  bool ok = false;
  // When true and !ok, `warden run` cannot work on this host at all; when
  // false, a missing feature only disables what needs it.
  bool required = false;
  std::string detail;  // what was found: backend, path, reason for a choice
  std::string remedy;  // what to do when !ok; may be empty
};

struct DoctorReport {
  std::vector<DoctorCheck> checks;  // grouped by section, in doctor's order
  // True when no required check failed: `warden run` can work here (the
  // exit status 0 of `warden doctor`).
  bool usable = false;
};

// Probes the host: namespaces, seccomp, cgroup backend per controller,
// network, event loop. Never fails: a probe that cannot run is a check that
// is not ok, with the reason in `detail`. Reads no environment variable:
// it uses the process's default host settings (the address pool, the lease
// and cache directories, the disabled cgroup controllers; `warden` fills
// them from its WARDEN_* variables) and the diagnostics ConfigureDiagnostics
// set (the event loop's backend, the mount API), so the report describes
// what RunJob would get. Namespace probes run in forked children that it
// reaps before returning. Keeps no state: safe to call from any thread,
// provided no thread calls ConfigureDiagnostics meanwhile.
WARDEN_EXPORT DoctorReport Doctor();

// The report as one JSON object: {"usable": bool, "checks": [{"section",
// "name", "ok", "required", "detail", "remedy"}, ...]}. Invalid UTF-8 in a
// string is replaced, never an error. Pure function: safe from any thread.
WARDEN_EXPORT std::string DoctorReportToJson(const DoctorReport& report);

}  // namespace warden

#endif  // WARDEN_DOCTOR_H_
