// Internal: killing the processes of a cgroup and removing it, shared by
// JobCgroup and Gc. Every wait is bounded.
#ifndef WARDEN_CGROUP_TEARDOWN_H_
#define WARDEN_CGROUP_TEARDOWN_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "cgroup/host.h"
#include "warden/status.h"

namespace warden::cgroup {

using Clock = std::chrono::steady_clock;

inline constexpr auto kFreezeTimeout = std::chrono::milliseconds(2000);
inline constexpr auto kEmptyTimeout = std::chrono::milliseconds(5000);
// A job cannot normally create cgroups of its own (it runs in a cgroup
// namespace without privilege), so a wide tree below a job is hostile.
inline constexpr size_t kMaxChildren = 4096;

// The paths of the directories right below `dir` (the child cgroups), at
// most `max_entries` of them. A missing `dir` has none; `exists`, when
// given, tells it apart from an empty one.
Result<std::vector<std::string>> ChildDirs(const std::string& dir,
                                           size_t max_entries = kMaxChildren,
                                           bool* exists = nullptr);

// SIGKILLs every process in `dir` and its descendants. A pid is signalled
// through a pidfd opened before the cgroup is read again, so that a pid that
// was reused by a process outside the cgroup is never hit.
Status SignalAll(const std::string& dir);

// v1 freezer.state / v2 cgroup.freeze, waiting until the kernel reports it.
Status FreezeV1(const std::string& dir, bool frozen);
Status FreezeV2(const std::string& dir, bool frozen);

// v2: cgroup.kill when the kernel has it (5.14+), else freeze/kill/thaw.
Status KillV2(const std::string& dir);
// v1: freeze through `freezer_dir` (may be ""), kill, thaw.
Status KillV1(const std::string& freezer_dir);

// True when no process is left in `dir` or below it.
Result<bool> IsEmpty(const std::string& dir, Backend backend);

// Waits until `dir` is empty, SIGKILLing stragglers now and then, and
// removes it and any cgroup below it. ENOENT counts as removed.
Status DrainAndRemove(const std::string& dir, Backend backend, Clock::time_point deadline);

// rmdir of a top-level `warden` group; succeeds quietly when it is still in
// use (ENOTEMPTY/EBUSY) or already gone.
void RemoveTopIfEmpty(const std::string& top);

}  // namespace warden::cgroup

#endif  // WARDEN_CGROUP_TEARDOWN_H_
