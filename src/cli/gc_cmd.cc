// warden gc: removes what crashed warden processes left behind.
#include <cstdio>

#include "cgroup/cgroup.h"
#include "cli/commands.h"
#include "net/net.h"
#include "user/uid_lease.h"

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
  std::vector<std::string> removed;
  int rc = 0;
  if (Status st = cgroup::Gc(&removed); !st.ok()) {
    std::fprintf(stderr, "warden gc: cgroups: %s\n", st.ToString().c_str());
    rc = 1;
  }
  if (Status st = net::Gc(&removed); !st.ok()) {
    std::fprintf(stderr, "warden gc: network: %s\n", st.ToString().c_str());
    rc = 1;
  }
  if (Status st = user::Gc(&removed); !st.ok()) {
    std::fprintf(stderr, "warden gc: uid leases: %s\n", st.ToString().c_str());
    rc = 1;
  }
  for (const std::string& r : removed) std::printf("removed %s\n", r.c_str());
  std::printf("warden gc: removed %zu leftover%s\n", removed.size(), removed.size() == 1 ? "" : "s");
  return rc;
}

}  // namespace warden::cli
