// The owner of a lease or a leftover: a process named by pid and start time,
// so that a reused pid does not keep a dead owner's resources alive. Used by
// every lease (addresses, uids) and by gc.
#ifndef WARDEN_BASE_OWNER_H_
#define WARDEN_BASE_OWNER_H_

#include <sys/types.h>

#include <cstdint>

namespace warden::base {

struct Owner {
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22, clock ticks since boot
};

// This process.
Owner SelfOwner();
// True when the process exists, is not a zombie, and started at start_time.
bool OwnerAlive(const Owner& owner);
// True when a process with this pid exists (any start time).
bool PidAlive(pid_t pid);

}  // namespace warden::base

#endif  // WARDEN_BASE_OWNER_H_
