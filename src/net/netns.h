// Running code inside another network namespace without moving the caller:
// each call gets a fresh thread that setns()es (a netns is per thread), does
// its work and ends, so the calling thread's namespaces never change.
#ifndef WARDEN_NET_NETNS_H_
#define WARDEN_NET_NETNS_H_

#include <sys/types.h>

#include <functional>

#include "base/fd.h"
#include "warden/status.h"

namespace warden::net {

// Opens /proc/<pid>/ns/net.
Result<base::UniqueFd> OpenNetnsOfPid(pid_t pid);
// Opens the calling thread's netns (/proc/thread-self/ns/net).
Result<base::UniqueFd> OpenCurrentNetns();
// Inode of the calling thread's netns: identifies "this host" in leases.
Result<uint64_t> CurrentNetnsId();

// Runs fn on a new thread that first joins netns_fd; returns fn's status.
Status RunInNetns(int netns_fd, const std::function<Status()>& fn);
// Runs fn on a new thread inside a new, empty netns that disappears with the
// thread (for probes such as `warden doctor`).
Status RunInNewNetns(const std::function<Status()>& fn);

}  // namespace warden::net

#endif  // WARDEN_NET_NETNS_H_
