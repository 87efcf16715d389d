// warden gc: removes what crashed warden processes left behind.
#include <cstdio>

#include "cgroup/cgroup.h"
#include "cli/commands.h"
#include "net/net.h"
#include "user/uid_lease.h"

namespace warden::cli {

int GcCommand(int argc, char** argv) {
  (void)argc;
  (void)argv;
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
