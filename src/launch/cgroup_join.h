// The sandbox's first process joins its v1 cgroups itself: the launcher
// opens each `tasks` file and the child writes "0" to it as its first step
// (cgroup::JobCgroup::OpenSelfJoin says why that is faster).
#ifndef WARDEN_LAUNCH_CGROUP_JOIN_H_
#define WARDEN_LAUNCH_CGROUP_JOIN_H_

#include "cgroup/cgroup.h"
#include "proto/plan.h"
#include "warden/status.h"

namespace warden::launch {

// Puts the `tasks` fds of every v1 directory of `cgroup` into plan->
// cgroup_joins (plan->fds owns them); JobCgroup::Attach then leaves those
// directories to the child. Nothing to do for a null cgroup or one on v2
// only. Must run before Sandbox::Clone (the child inherits the fds).
Status PlanCgroupSelfJoin(cgroup::JobCgroup* cgroup, Plan* plan);

}  // namespace warden::launch

#endif  // WARDEN_LAUNCH_CGROUP_JOIN_H_
