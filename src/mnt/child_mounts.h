// Child side of the root filesystem: walks the plan's mount steps and pivots
// into the new root. Runs between clone and exec (no allocation).
#ifndef WARDEN_MNT_CHILD_MOUNTS_H_
#define WARDEN_MNT_CHILD_MOUNTS_H_

#include "proto/child_util.h"
#include "proto/plan.h"

namespace warden::mnt {

// Makes every mount private, builds the new root under plan.staging_dir
// (staging tmpfs, generated files, read-only root bind, the plan's mounts),
// then pivot_root()s into it and detaches the old root. On return without
// error the process's "/" is the sandbox root and its cwd is "/".
launch::ChildError ChildBuildRoot(const launch::Plan& plan);

}  // namespace warden::mnt

#endif  // WARDEN_MNT_CHILD_MOUNTS_H_
