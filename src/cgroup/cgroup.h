// Job cgroups: limits, accounting and teardown for one sandboxed job.
//
// One interface over two kernel backends, chosen per controller when a
// JobCgroup is created:
//   - cgroup v2 where the controller is listed in cgroup.controllers of the
//     unified hierarchy (pure v2 hosts, or a hybrid host's unified mount);
//   - cgroup v1 where the controller's own hierarchy is mounted;
//   - otherwise the controller is unavailable and any limit that needs it
//     fails closed (see JobCgroup::Create).
//
// Placement (names are always warden-<owner pid>-<job id>, so that the
// leftovers of a crashed warden can be attributed and collected by Gc):
//   - v2: under warden's own cgroup when it can delegate the controllers.
//     Because of the no-internal-processes rule warden first moves itself
//     (and only itself) into a leaf child warden-self-<pid>; when its cgroup
//     holds other processes, jobs go under a top-level `warden` group instead.
//   - v1, every controller: below warden's own cgroup in that hierarchy (a
//     CI runner may confine itself there, and its jobs must stay inside that
//     confinement); under /sys/fs/cgroup/<ctrl>/warden/ when warden's own
//     cgroup is the hierarchy's root. When the job's cgroup cannot be made
//     there, limits that need it fail closed: it is never put elsewhere.
//   - Options::parent replaces the default parent in every hierarchy. It is
//     a path relative to warden's own cgroup in each v1 hierarchy and to the
//     cgroup2 mount on v2, and must exist in every hierarchy warden uses
//     (kFailedPrecondition otherwise, whether limits are asked or not);
//     warden never creates or removes it.
// The top-level `warden` groups are created on demand and removed when the
// last job in them is removed.
//
// Testing switch: HostConfig::cgroup_disable (Options::disabled_controllers,
// DiscoverHost's second argument) holds a comma-separated list of
// controller names (memory, pids, cpu, cpuset, io, and the v1 helpers
// cpuacct, blkio, freezer) that are then treated as unavailable on this
// host, so that the fail-closed paths can be forced; `warden` takes it from
// WARDEN_CGROUP_DISABLE:
//   WARDEN_CGROUP_DISABLE=memory,pids warden run ...
//
// Thread safety: distinct JobCgroup objects may be used from different
// threads at once. One JobCgroup is not synchronised; call it from one
// thread at a time.
#ifndef WARDEN_CGROUP_CGROUP_H_
#define WARDEN_CGROUP_CGROUP_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/doctor.h"
#include "base/fd.h"
#include "base/host_config.h"
#include "cgroup/host.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden::cgroup {

// What the kernel accounted for the job's cgroup. A field is absent when
// this host cannot say (controller unavailable, file missing).
struct Accounting {
  std::optional<uint64_t> memory_peak_bytes;   // memory.peak / max_usage_in_bytes
  std::optional<uint64_t> oom_kill_count;      // memory.events / oom_control oom_kill
  std::optional<uint64_t> pids_peak;           // pids.peak
  std::optional<uint64_t> pids_current;        // pids.current
  std::optional<uint64_t> cpu_user_usec;
  std::optional<uint64_t> cpu_system_usec;
  std::optional<uint64_t> cpu_throttled_usec;  // time the cpu limit held it back
  std::optional<uint64_t> io_read_bytes;
  std::optional<uint64_t> io_write_bytes;

  // True when the kernel's OOM killer killed a process of the job: the
  // oom_kill counter, not `oom` (which also counts reclaim that succeeded).
  bool oom_killed() const { return oom_kill_count.value_or(0) > 0; }
};

struct Options {
  // Names the cgroups warden-<owner pid>-<job id>. 1..64 characters from
  // [A-Za-z0-9_.-], not starting with '.'.
  std::string job_id;
  // --cgroup-parent: replaces the default parent in every hierarchy ("" =
  // default placement). Relative to each hierarchy's mount (see above);
  // must exist.
  std::string parent;
  // The pid written into the name as the owner; 0 means getpid(). Tests set
  // it to a dead pid to simulate the leftovers of a crashed warden.
  pid_t owner_pid = 0;
  // Comma-separated controllers not to use (HostConfig::cgroup_disable),
  // passed to DiscoverHost when `host` is null.
  std::string disabled_controllers;
  // On v2, whether warden may move its own process into a leaf
  // warden-self-<pid> of its cgroup so that jobs can nest below it
  // (HostConfig::may_move_self). When it may not and the move is needed,
  // Create fails with kFailedPrecondition.
  bool may_move_self = true;
  // The host layout from DiscoverHost(parent), for a caller that has it
  // already (it also ran Gc); null = Create discovers it. Not owned; read
  // only during Create.
  const HostLayout* host = nullptr;
};

// The cgroup(s) of one job: one directory in the v2 hierarchy and/or one per
// v1 hierarchy used. RAII: the destructor kills whatever is left in them and
// removes them (errors are logged).
// True when /sys/fs/cgroup is a pure cgroup v2 mount, where a job's cgroup
// can be made before clone3 and the child started inside it
// (CLONE_INTO_CGROUP). One statfs; says nothing about which controllers work.
bool CanCloneInto();

class JobCgroup {
 public:
  // Creates the job's cgroup(s) and applies every limit in `spec`.
  // Fail closed: a limit that cannot be enforced (controller missing, control
  // file missing, write refused) returns kUnavailable naming the limit and
  // the reason, unless the limit is optional, in which case a warning is
  // appended to *warnings (which may be null) and the job runs without it.
  // Controllers used only for accounting are best effort. Leaves nothing
  // behind on error. Errors: kInvalidArgument (bad job id or spec value),
  // kFailedPrecondition (--cgroup-parent missing), kUnavailable, and the
  // errno-derived codes of mkdir/write.
  static Result<std::unique_ptr<JobCgroup>> Create(const CgroupSpec& spec, const Options& opts,
                                                    std::vector<std::string>* warnings);

  ~JobCgroup();
  JobCgroup(const JobCgroup&) = delete;
  JobCgroup& operator=(const JobCgroup&) = delete;

  // An O_DIRECTORY fd of the v2 leaf for clone3(CLONE_INTO_CGROUP) when every
  // controller used is on v2; -1 otherwise (then the launcher calls Attach
  // before it releases the child). Owned by this object.
  int clone_into_fd() const;

  // Moves `pid` (its whole thread group) into every hierarchy used, except
  // those handed to the process itself by OpenSelfJoin. Safe to call after
  // CLONE_INTO_CGROUP too (the v2 write is then a no-op).
  Status Attach(pid_t pid);

  // One v1 directory's `tasks` file, open for writing, for the job's first
  // process to join that cgroup itself.
  struct SelfJoin {
    base::UniqueFd fd;
    std::string path;  // the tasks file, for error messages
  };
  // Opens the `tasks` file of every v1 directory (O_WRONLY, O_CLOEXEC, no
  // symlinks followed) for a single-threaded process that joins its v1
  // cgroups itself by writing "0" to each, which moves the writing thread.
  // Attach then leaves those directories to it. Why: moving another process
  // (cgroup.procs) takes the kernel's cgroup_threadgroup_rwsem for writing,
  // which waits out an RCU grace period: 12-16 ms per job on a loaded
  // 2-vCPU host (45 us for the self move). The kernel checks the opener's
  // credentials (root's) for a v1 move, so the fds also work from a new
  // user namespace. The process must treat a failed write as a failed
  // launch (fail closed): nothing else places it there. Call before Attach.
  Result<std::vector<SelfJoin>> OpenSelfJoin();

  // Sends SIGKILL to every process in the job's cgroups without racing with
  // forks: v2 cgroup.kill; v1 freezer freeze, kill all, thaw. Does not wait.
  Status Kill();

  // Freezes or thaws the job (v2 cgroup.freeze, v1 freezer.state) and waits
  // (bounded) until the kernel reports the new state. kUnavailable when the
  // host has no freezer.
  Status Freeze(bool frozen);

  // Reads the accounting figures of the job's cgroups.
  Result<Accounting> ReadAccounting() const;

  // Kills what is left, waits (bounded, a few seconds) until the cgroups are
  // empty and removes them, then the empty top-level `warden` groups.
  // Idempotent. kFailedPrecondition when processes would not go away.
  Status Remove();

  // Forgets the cgroups without killing or removing anything, so that the
  // destructor leaves them in place: for handing a running job over to
  // another process, and for tests that simulate a crashed warden (Gc then
  // collects them once the owner pid is dead).
  void Release();

  // The cgroup directories of this job (empty after Remove).
  std::vector<std::string> Paths() const;

  // The name shared by all of this job's directories.
  const std::string& name() const { return name_; }

  struct Dir;  // one cgroup directory; defined in cgroup.cc

 private:
  JobCgroup();
  const Dir* DirFor(int controller) const;

  std::string name_;
  std::vector<Dir> dirs_;
  base::UniqueFd v2_fd_;
  bool all_v2_ = false;
};

struct GcOptions {
  // Consider only cgroups of this owner pid (tests use it so that they never
  // touch cgroups of other warden processes on a shared host); 0 = all.
  pid_t only_owner = 0;
  // Also scan this --cgroup-parent (relative to each hierarchy's mount).
  std::string parent;
  // Names (warden-<pid>-<job>) to leave alone although their owner is dead:
  // jobs a restarted agent is about to adopt. May be empty.
  std::function<bool(const std::string& name)> keep;
  // Also walk every hierarchy (bounded in depth and size) for job cgroups
  // below other cgroups: jobs stay inside the cgroup of the warden that made
  // them, which need not be ours. `warden gc` walks; the collection at each
  // job start looks only where this process puts jobs.
  bool walk = false;
  // HostConfig::cgroup_disable, for the discovery of the first two forms.
  std::string disabled_controllers;
};

// Removes warden cgroups (in both v1 and v2 layouts) whose owner pid is no
// longer alive, killing any process left in them, then the empty top-level
// `warden` groups. Appends each removed directory to *removed (may be null).
// Continues past errors and returns the first one. The first form walks
// every hierarchy (GcOptions::walk), with config.cgroup_disable applied.
Status Gc(const base::HostConfig& config, std::vector<std::string>* removed);
Status Gc(const GcOptions& opts, std::vector<std::string>* removed);
// As above, over a layout the caller discovered already. Any parent_override
// will do: Gc reads only the mounts and warden's own cgroups, which neither
// --cgroup-parent nor the disabled controllers change, so it sees every
// hierarchy even where some controllers are hidden from new jobs.
Status Gc(const HostLayout& host, const GcOptions& opts, std::vector<std::string>* removed);

// One check per controller: which backend is used, where, and why, with
// config.cgroup_disable applied.
base::DoctorChecks DoctorChecks(const base::HostConfig& config);

}  // namespace warden::cgroup

#endif  // WARDEN_CGROUP_CGROUP_H_
