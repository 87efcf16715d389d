// Parent side of the root filesystem: turns a Policy (plus command-line
// binds) into the flat mount steps the child walks.
#ifndef WARDEN_MNT_MOUNT_PLAN_H_
#define WARDEN_MNT_MOUNT_PLAN_H_

#include <vector>

#include "proto/plan.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden::mnt {

// Fills plan->rootfs and plan->mounts. `extra` are the --bind/--ro-bind
// mounts of the command line, applied after the policy's. Sources are
// resolved here, so a missing source is reported before anything starts; the
// child opens them in its own mount namespace.
Status BuildMountPlan(const Policy& policy, const std::vector<MountSpec>& extra,
                      launch::Plan* plan);

// True when mount_setattr(2) is usable; false forces the legacy remount walk.
bool HaveMountSetattr();

}  // namespace warden::mnt

#endif  // WARDEN_MNT_MOUNT_PLAN_H_
