// Opening and creating files as root on a user's behalf.
//
// Any path a job could have touched (a shared work directory, an output
// directory, the directory of a result file) may hold a symlink, FIFO,
// device or hard link planted there, earlier or while warden runs. These
// helpers walk such paths one component at a time without following
// symlinks, keep the directory as an fd from the check to the use, create
// with O_EXCL, and refuse anything but a regular file where one is meant.
// Every error names the call and the path, and says what to do.
#ifndef WARDEN_BASE_SAFE_OPEN_H_
#define WARDEN_BASE_SAFE_OPEN_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/fd.h"
#include "warden/status.h"

namespace warden::base {

// Opens the directory `path` (absolute, or relative to the working
// directory) with O_DIRECTORY|O_NOFOLLOW at every component: a symlink
// anywhere in the path is an error (ELOOP), not followed. With `create`,
// missing components are made with `mode` (mkdirat, then opened the same
// way, so a symlink swapped in between is still refused). A directory on a
// kernel pseudo file system (proc, sysfs, cgroup, ...) is refused.
Result<UniqueFd> OpenDirNoFollow(const std::string& path, bool create = false,
                                 mode_t mode = 0755);
// The same, for `path` relative to the open directory `dir_fd` (named
// `dir_name` in errors), which is not walked again.
Result<UniqueFd> OpenDirNoFollowAt(int dir_fd, const std::string& dir_name,
                                   const std::string& path, bool create = false,
                                   mode_t mode = 0755);

// The directory and last component of `path` ("a/b/c" -> "a/b", "c";
// "c" -> ".", "c"). The name is empty for paths ending in '/', "." or "..".
struct PathParts {
  std::string dir;
  std::string name;
};
PathParts SplitPath(const std::string& path);

// Checks, before anything runs, that `name` in `dir_fd` can later be
// replaced by a regular file: absent, or a regular file. A symlink, FIFO,
// socket, device or directory is an error naming `shown`.
Status CheckReplaceableFile(int dir_fd, const std::string& name, const std::string& shown);

// Writes `data` to a new file in `dir_fd` under a random temp name (created
// with O_EXCL|O_NOFOLLOW and `mode`) and renameat()s it over `name`.
// renameat never follows a symlink planted at `name` meanwhile: it replaces
// the link itself. With `durable`, the file is fsynced before the rename
// and the directory after it; files that mean nothing after a crash (a
// lease of a process that died, a cache entry checked by digest) skip the
// cost. On failure the temp file is removed.
Status ReplaceFileAt(int dir_fd, const std::string& name, std::string_view data, mode_t mode,
                     const std::string& shown, bool durable = true);

// Creates `name` in `dir_fd` as a new regular file of warden's own output,
// for writing: refused (before anything is made) when the name is a
// symlink, FIFO, socket, device, directory or a file with more than one
// link; otherwise a new file with `mode` (exact, whatever the umask) is
// made under a random temp name with O_CREAT|O_EXCL|O_NOFOLLOW and
// renameat()ed over the name. An existing regular file is replaced, never
// reused: one planted by a job (world-readable, or held open) would let it
// read the output. Never blocks in open(). The fd is blocking,
// close-on-exec.
Result<UniqueFd> OpenOutputFileAt(int dir_fd, const std::string& name, mode_t mode,
                                  const std::string& shown);

// A random suffix of 16 hex digits for temp names.
std::string RandomSuffix();

}  // namespace warden::base

#endif  // WARDEN_BASE_SAFE_OPEN_H_
