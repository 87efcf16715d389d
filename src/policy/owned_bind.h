// What a job with an owned (idmapped) bind may not do there.
//
// Files the job creates or changes in an owned bind belong on the host to
// the bind source's owner (the CI runner's user, say). The bind is nosuid
// inside the sandbox, but not where the host sees the files: a set-uid or
// set-gid bit the job sets there would give any host user who runs that file
// the owner's uid or gid. So when a job has an owned bind, its seccomp
// filter refuses (EPERM) every way of setting S_ISUID or S_ISGID: chmod,
// fchmod, fchmodat and fchmodat2 with such a mode, and open, openat, creat,
// mknod and mknodat creating a file with one (fchmodat2, Linux 6.6, where
// libseccomp can name it; where it cannot, its number gets the filter's
// ENOSYS for unnamed calls). openat2, whose mode is in a struct that seccomp
// cannot read, gets ENOSYS (callers fall back to openat). io_uring, the other
// way to open files, is stopped (EPERM) whatever the deny action; an owned
// bind in a policy that lists io_uring_setup in seccomp.allow is refused.
#ifndef WARDEN_POLICY_OWNED_BIND_H_
#define WARDEN_POLICY_OWNED_BIND_H_

#include <vector>

#include "warden/policy.h"
#include "warden/status.h"

namespace warden::policy {

// Whether `policy` or `extra` holds an owned bind.
bool HasOwnedBind(const Policy& policy, const std::vector<MountSpec>& extra);

// Adds the rules above to `spec`, once (a second call changes nothing).
// Fails when the spec allows io_uring_setup by name (seccomp.allow): an
// io_uring open would not pass through these rules.
Status AddOwnedBindRules(SeccompSpec* spec);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_OWNED_BIND_H_
