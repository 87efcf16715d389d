// warden gc: removes what crashed warden processes left behind.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/env_config.h"
#include "warden/gc.h"
#include "warden/launcher.h"

namespace warden::cli {

namespace {

void GcUsage(FILE* out) {
  std::fprintf(out,
               "usage: warden gc\n"
               "\n"
               "Removes what warden processes that died left behind: cgroups, network\n"
               "interfaces and tables, uid leases. Only resources whose owner is gone are\n"
               "removed; running jobs keep theirs.\n"
               "Exit status: 0 when everything found was removed, 1 otherwise, 2 usage.\n");
}

}  // namespace

int GcCommand(int argc, char** argv) {
  if (int rc = NoArgumentsOrHelp("gc", argc, argv, &GcUsage); rc >= 0) return rc;
  // What the launcher that `warden run` would use left behind: its lease
  // directories and cgroup choices.
  Result<std::unique_ptr<Launcher>> launcher = LauncherFromEnvironment(/*forward_signals=*/false);
  if (!launcher.ok()) {
    std::fprintf(stderr, "warden gc: %s\n", launcher.status().ToString().c_str());
    return 1;
  }
  const GcReport report = (*launcher)->Gc();
  for (const std::string& e : report.errors) std::fprintf(stderr, "warden gc: %s\n", e.c_str());
  const std::vector<std::string>& removed = report.removed;
  for (const std::string& r : removed) std::printf("removed %s\n", r.c_str());
  std::printf("warden gc: removed %zu leftover%s\n", removed.size(), removed.size() == 1 ? "" : "s");
  return report.errors.empty() ? 0 : 1;
}

}  // namespace warden::cli
