// warden doctor: every feature, whether it works here, and what to do.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "cli/env_config.h"
#include "warden/doctor.h"
#include "warden/job.h"
#include "warden/launcher.h"

namespace warden::cli {

namespace {

void DoctorUsage(FILE* out) {
  std::fprintf(out,
               "usage: warden doctor [--json]\n"
               "\n"
               "Checks every feature warden uses on this host (namespaces, seccomp, cgroups,\n"
               "network, event loop), says which backend was chosen and why, and for each\n"
               "missing feature what to do.\n"
               "  --json  print the report as one JSON object: usable, and checks with\n"
               "          section, name, ok, required, detail, remedy\n"
               "Exit status: 0 when `warden run` can work here, 1 when it cannot, 2 usage.\n");
}

}  // namespace

int DoctorCommand(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      DoctorUsage(stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
      continue;
    }
    const bool option = argv[i][0] == '-';
    std::fprintf(stderr, "warden doctor: unknown %s \"%s\" (it takes --json only)\nsee 'warden doctor --help'\n",
                 option ? "option" : "argument", argv[i]);
    return kUsageErrorExit;
  }
  // The probes of the launcher that `warden run` would use: the same
  // directories, pool and cgroup choices.
  Result<std::unique_ptr<Launcher>> launcher = LauncherFromEnvironment(/*forward_signals=*/false);
  if (!launcher.ok()) {
    std::fprintf(stderr, "warden doctor: %s\n", launcher.status().ToString().c_str());
    return 1;
  }
  const DoctorReport report = (*launcher)->Doctor();
  if (json) {
    const std::string text = DoctorReportToJson(report);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return report.usable ? 0 : 1;
  }
  std::printf("warden %s doctor\n\n", Version());
  int warnings = 0;
  std::string section;
  bool first = true;
  for (const DoctorCheck& c : report.checks) {
    if (first || c.section != section) {
      if (!first) std::printf("\n");
      std::printf("%s\n", c.section.c_str());
      section = c.section;
      first = false;
    }
    const char* mark = c.ok ? "ok  " : (c.required ? "FAIL" : "warn");
    std::printf("  [%s] %-22s %s\n", mark, c.name.c_str(), c.detail.c_str());
    if (!c.ok && !c.remedy.empty()) std::printf("         %-22s fix: %s\n", "", c.remedy.c_str());
    if (!c.ok && !c.required) ++warnings;
  }
  if (!first) std::printf("\n");
  if (report.usable) {
    std::printf("warden run can work on this host (%d optional feature%s missing)\n", warnings,
                warnings == 1 ? "" : "s");
    return 0;
  }
  std::printf("warden run cannot work on this host: fix the FAIL lines above\n");
  return 1;
}

}  // namespace warden::cli
