// Parent side of the root filesystem: turns a Policy (plus command-line
// binds) into the flat mount steps the child walks.
#ifndef WARDEN_MNT_MOUNT_PLAN_H_
#define WARDEN_MNT_MOUNT_PLAN_H_

#include <string>
#include <vector>

#include "proto/plan.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden::mnt {

// Fills plan->rootfs and plan->mounts. `extra` are the --bind/--ro-bind
// mounts of the command line, applied after the policy's. Sources are
// resolved here, so a missing source is reported before anything starts; the
// child opens them in its own mount namespace. warden's own state and
// caches (/var/cache/warden, /var/lib/warden and `cache_dir`, the caller's
// HostConfig::cache_dir) are masked in every job.
Status BuildMountPlan(const Policy& policy, const std::vector<MountSpec>& extra,
                      launch::Plan* plan, const std::string& cache_dir);

// True when mount_setattr(2) is usable and not forced off; false means the
// legacy remount walk.
bool HaveMountSetattr();

// Process-wide (DiagnosticOptions::legacy_mount_api): true makes every job
// take the path of kernels before 5.12, for tests of that path. Set before
// jobs start.
void ForceLegacyMountApi(bool force);

}  // namespace warden::mnt

#endif  // WARDEN_MNT_MOUNT_PLAN_H_
