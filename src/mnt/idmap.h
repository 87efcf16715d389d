// Idmapped binds (`--bind-owned`, `owned = true`): the job sees the files of
// a bind source's owner as its own, and what it creates there belongs on the
// host to that owner. Built by the parent on the detached mount tree of the
// source (open_tree OPEN_TREE_CLONE), before the child moves it into place:
// the kernel only idmaps a mount that is not attached yet.
#ifndef WARDEN_MNT_IDMAP_H_
#define WARDEN_MNT_IDMAP_H_

#include <sys/types.h>

#include <string>

#include "base/fd.h"
#include "warden/status.h"

namespace warden::mnt {

// A user namespace fd whose maps are the single lines "from_uid to_uid 1"
// and "from_gid to_gid 1": on an idmapped mount, on-disk owner from_uid
// shows as to_uid, and files to_uid creates get from_uid on disk. Made by a
// child cloned into a new user namespace, whose maps warden writes; the
// child is killed and reaped on every path before this returns.
Result<base::UniqueFd> MakeIdmapUserns(uid_t from_uid, gid_t from_gid, uid_t to_uid,
                                       gid_t to_gid);

// Makes the detached mount tree `tree` (and every mount below it) idmapped
// through `userns_fd`. A filesystem or kernel that cannot (EINVAL, EPERM,
// ENOSYS from mount_setattr) is refused as kUnavailable, naming the
// filesystem type of `source_fd` (fstatfs) and what to do instead.
Status IdmapMountTree(int tree, int userns_fd, int source_fd, const std::string& source);

// The name of a filesystem type from statfs(2)'s f_type ("ext4", "tmpfs",
// "proc"), or its number in hex when warden does not know it.
std::string FsTypeName(long f_type);

}  // namespace warden::mnt

#endif  // WARDEN_MNT_IDMAP_H_
