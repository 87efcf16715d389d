// warden doctor: every feature, whether it works here, and what to do.
#include <cstdio>
#include <cstring>

#include "base/doctor.h"
#include "cgroup/cgroup.h"
#include "cli/commands.h"
#include "io/doctor.h"
#include "launch/doctor.h"
#include "net/net.h"
#include "seccomp/seccomp.h"
#include "warden/job.h"

namespace warden::cli {

namespace {

void DoctorUsage(FILE* out) {
  std::fprintf(out,
               "usage: warden doctor\n"
               "\n"
               "Checks every feature warden uses on this host (namespaces, seccomp, cgroups,\n"
               "network, event loop), says which backend was chosen and why, and for each\n"
               "missing feature what to do.\n"
               "Exit status: 0 when `warden run` can work here, 1 when it cannot, 2 usage.\n");
}

}  // namespace

int DoctorCommand(int argc, char** argv) {
  if (int rc = NoArgumentsOrHelp("doctor", argc, argv, &DoctorUsage); rc >= 0) return rc;
  std::printf("warden %s doctor\n\n", Version());
  const struct {
    const char* section;
    base::DoctorChecks (*fn)();
  } kSections[] = {
      {"sandbox", &launch::DoctorChecks}, {"seccomp", &seccomp::DoctorChecks},
      {"cgroups", &cgroup::DoctorChecks}, {"network", &net::DoctorChecks},
      {"event loop", &io::DoctorChecks},
  };
  bool run_ok = true;
  int warnings = 0;
  for (const auto& s : kSections) {
    std::printf("%s\n", s.section);
    for (const base::DoctorCheck& c : s.fn()) {
      const char* mark = c.ok ? "ok  " : (c.required_for_run ? "FAIL" : "warn");
      std::printf("  [%s] %-22s %s\n", mark, c.feature.c_str(), c.detail.c_str());
      if (!c.ok && !c.fix.empty()) std::printf("         %-22s fix: %s\n", "", c.fix.c_str());
      if (!c.ok && c.required_for_run) run_ok = false;
      if (!c.ok && !c.required_for_run) ++warnings;
    }
    std::printf("\n");
  }
  if (run_ok) {
    std::printf("warden run can work on this host (%d optional feature%s missing)\n", warnings,
                warnings == 1 ? "" : "s");
    return 0;
  }
  std::printf("warden run cannot work on this host: fix the FAIL lines above\n");
  return 1;
}

}  // namespace warden::cli
