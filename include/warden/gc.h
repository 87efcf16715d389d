// Gc: removes what warden processes that died left behind (`warden gc`).
#ifndef WARDEN_GC_H_
#define WARDEN_GC_H_

#include <string>
#include <vector>

#include "warden/export.h"

namespace warden {

struct GcReport {
  // What was removed, one entry each: a cgroup path, a network interface or
  // table, a uid lease.
  std::vector<std::string> removed;
  // One entry per subsystem whose collection failed, "cgroups: ...",
  // "network: ..." or "uid leases: ...", with the failing call and path.
  // Collection goes on after a failure: what could be removed was.
  std::vector<std::string> errors;
};

// Collects the cgroups, network interfaces and tables, and uid leases whose
// owning warden process is gone. Resources of running jobs are kept, so it
// is safe while other jobs run, in this process or others. Needs root to
// remove anything; without it the failures are in `errors`. Reads no
// environment variable: it looks in the lease directories of the process's
// default host settings (those RunJob uses; `warden` fills them from
// WARDEN_NET_DIR and WARDEN_UID_DIR). Safe to call from any thread; concurrent calls (in this process or others) each remove what
// they find first.
WARDEN_EXPORT GcReport Gc();

}  // namespace warden

#endif  // WARDEN_GC_H_
