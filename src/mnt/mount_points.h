// Where the mount points of a plan come from. The child creates a missing
// mount point only on a tmpfs of warden's own (child_mounts.cc); this, on
// the parent's side, makes sure there is one wherever a destination is
// missing, before anything starts:
//   - a destination below a read-only tmpfs of the plan: that tmpfs is
//     mounted writable and made read-only once every step is done;
//   - below a masked directory: the mask becomes a tmpfs of its own
//     (empty, read-only in the end) instead of the shared mask template;
//   - below a directory of the host (a bind, the view, `rootfs`): that
//     directory is covered by a tmpfs that binds each of its entries again
//     (as the bind did: same flags; symlinks are made again), so the
//     missing mount point is made on that tmpfs and never on the host.
//     The host's "/" itself is never covered (`rootfs = "/"` with a new
//     top-level directory): that is refused, saying which host directory
//     would have to hold the destination.
#ifndef WARDEN_MNT_MOUNT_POINTS_H_
#define WARDEN_MNT_MOUNT_POINTS_H_

#include <map>
#include <string>

#include "proto/plan.h"
#include "warden/status.h"

namespace warden::mnt {

// Most entries of a host directory that a cover binds again; a bigger one
// is refused (choose a destination elsewhere, e.g. under /tmp).
inline constexpr size_t kMaxCoverEntries = 64;

// What the planner knows of the plan's binds: the host path of each bind
// step's detached tree (by its source_fd), and of `rootfs` (rootfs_fd, or
// -1 for the host view's empty root).
struct HostTrees {
  std::map<int, std::string> path_of_fd;
  int rootfs_fd = -1;
  std::string rootfs;
};

// Walks plan->mounts in order and adds, changes or refuses steps as above.
// Errors name the destination and the host directory at fault.
Status PlaceMountPoints(HostTrees* trees, launch::Plan* plan);

}  // namespace warden::mnt

#endif  // WARDEN_MNT_MOUNT_POINTS_H_
