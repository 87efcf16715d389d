// Opening a bind source as root on a job's behalf. A bind source often lies
// in a directory a job can write (a shared work dir), so by the time warden
// opens it, it may have been swapped for a symlink to "/" or to a socket.
//
// The rule for what an operator-given path may contain: a symlink is
// followed only when it is owned by root and sits in a directory owned by
// root that no one else can write (an operator's own /srv -> /data/srv); a
// symlink anywhere a job could have made or moved it is refused. The final
// component follows the same rule. Magic links (/proc/PID/root) are never
// followed. The source is then checked on the fd and bound through it.
#ifndef WARDEN_MNT_BIND_SOURCE_H_
#define WARDEN_MNT_BIND_SOURCE_H_

#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "base/fd.h"
#include "warden/status.h"

namespace warden::mnt {

// Most directory entries warden reads to check a bound directory for
// sockets, per source; a bigger tree is refused (name a narrower one).
inline constexpr size_t kMaxSocketScanEntries = 4096;
inline constexpr int kMaxSocketScanDepth = 16;

// Opens `path` (absolute) as an O_PATH fd following only trusted symlinks
// (see above). Errors name the path and the component at fault.
Result<base::UniqueFd> OpenBindSource(const std::string& path);

// Refuses what must never be a bind source: the host's root directory
// (however it was reached), and anything but a directory or a regular file.
Status CheckBindSource(int fd, const struct stat& st, const std::string& path);

// Walks the directory at `fd` (at most kMaxSocketScanEntries entries and
// kMaxSocketScanDepth levels) and fails when it holds a unix socket: a job
// could connect to a host service through it, and a read-only mount does
// not stop connect(2). A tree over the bound is refused too, since warden
// cannot say it holds none.
Status RefuseSockets(int fd, const std::string& path);

// The path the kernel gives for `fd` (readlink of /proc/self/fd/N).
Result<std::string> FdPathName(int fd);

// open_tree(fd, OPEN_TREE_CLONE): a detached copy of the mount(s) at `fd`,
// recursive when asked, that the sandbox's first process moves into its new
// root. Fails closed (kUnavailable) on kernels without open_tree (Linux 5.2):
// a path bound again by name could have been swapped meanwhile.
Result<base::UniqueFd> CloneMountTree(int fd, bool recursive, const std::string& path);

}  // namespace warden::mnt

#endif  // WARDEN_MNT_BIND_SOURCE_H_
