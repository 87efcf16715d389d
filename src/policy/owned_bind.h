// What a job with an owned (idmapped) bind may not do there.
//
// Files the job creates or changes in an owned bind belong on the host to
// the bind source's owner (the CI runner's user, say). The bind is nosuid
// inside the sandbox, but not where the host sees the files: a set-uid or
// set-gid bit the job sets there would give any host user who runs that file
// the owner's uid or gid. So when a job has an owned bind, its seccomp
// filter refuses (EPERM) every way of setting S_ISUID or S_ISGID: chmod,
// fchmod and fchmodat with such a mode, and open, openat, creat, mknod and
// mknodat creating a file with one. openat2, whose mode is in a struct that
// seccomp cannot read, gets ENOSYS (callers fall back to openat). fchmodat2
// (Linux 6.6) is unknown to libseccomp here and gets the filter's ENOSYS
// for unknown numbers already. io_uring, the other way to open files, is
// denied by the default policy; an owned bind with io_uring allowed is
// refused.
#ifndef WARDEN_POLICY_OWNED_BIND_H_
#define WARDEN_POLICY_OWNED_BIND_H_

#include <vector>

#include "warden/policy.h"
#include "warden/status.h"

namespace warden::policy {

// Whether `policy` or `extra` holds an owned bind.
bool HasOwnedBind(const Policy& policy, const std::vector<MountSpec>& extra);

// Adds the rules above to `spec`, once (a second call changes nothing).
// Fails when the spec leaves io_uring_setup allowed: an io_uring open
// would not pass through these rules.
Status AddOwnedBindRules(SeccompSpec* spec);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_OWNED_BIND_H_
