// One launch, phase by phase, in DESIGN.md's launch order (parent side):
// check privileges, plan the process and its root, compile seccomp, plan the
// rlimits, prepare the network, create the cgroup, open the job's stdio,
// clone, place the child from outside and release it, supervise, tear down,
// collect the result. RunJob (warden/job.h) is these phases in sequence; a
// launcher that does not block until the job ends calls the same ones.
//
// Every phase takes the one JobRun the launch shares and returns a Status
// that already names what failed ("root filesystem: ...", "cgroup: ...");
// the caller turns a failure into the setup-error result (SetupError). Each
// phase emits the trace mark (base/trace.h, DiagnosticOptions::trace_startup) that
// names the point it reaches. The phases must run in the order below, each
// at most once, and the next only after the previous one succeeded.
#ifndef WARDEN_LAUNCH_JOB_RUN_H_
#define WARDEN_LAUNCH_JOB_RUN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/fd.h"
#include "base/host_config.h"
#include "cgroup/cgroup.h"
#include "cgroup/host.h"
#include "launch/job_stdio.h"
#include "launch/launcher.h"
#include "net/net.h"
#include "proto/plan.h"
#include "proto/report.h"
#include "user/uid_lease.h"
#include "warden/job.h"
#include "warden/status.h"

namespace warden::launch {

// What a launch holds from the request to the result. Members are declared
// in the order the phases make them, so the destructor, on every path out,
// undoes them in reverse: the sandbox (its destructor kills a child that
// was never released, or is still running) goes before the fds it was given,
// those before the cgroup and the veth pair (each removed by its own
// destructor when the normal path did not), and those before the uid lease.
// Not copyable or movable: the supervisor's callbacks point into it.
struct JobRun {
  JobRun(const JobRequest& request, std::string job_id, const base::HostConfig& config);
  JobRun(const JobRun&) = delete;
  JobRun& operator=(const JobRun&) = delete;

  const JobRequest& req;
  const Policy& policy;
  const base::HostConfig& config;
  JobResult res;  // job id, policy, warnings; the rest by CollectResult
  // Where the job's streams come from and go (OpenStdio): the request's as
  // `warden run` has them (LegacyStdio) unless the launcher replaces them
  // before OpenStdio. Holds the caller's fds that a Launcher dup'd.
  StdioPlan stdio = LegacyStdio(req);
  Plan plan;      // what the child walks
  // Each concurrent job gets a uid/gid of its own (user/uid_lease.h) where
  // the policy keeps the default 65534 and no user namespace maps ids;
  // released once init reports that the job's last process is gone, or by
  // the destructor.
  std::optional<user::UidLease> uid_lease;
  std::unique_ptr<net::VethSession> veth;  // network.mode = "veth" only
  std::unique_ptr<cgroup::JobCgroup> job_cgroup;
  // The host's cgroup layout, when it could be read: where PlaceChild
  // collects the cgroups of wardens that died.
  std::optional<cgroup::HostLayout> gc_host;
  uint64_t wall_ms = 0;  // the request's --timeout, else the policy's
  SuperviseOptions sopts;
  base::UniqueFd out_file, err_file;  // output files, or /dev/null
  Pipe out_pipe, err_pipe;
  // After the files and pipes, so the operator's terminal is restored
  // before they close.
  Pty pty;
  base::UniqueFd in_file;     // the job's stdin when warden opened it (file, /dev/null)
  int64_t start_ns = 0;       // CLOCK_MONOTONIC at clone, for wall_ms
  std::unique_ptr<Sandbox> sandbox;
  // The cgroups' figures, read once init reports the job's end.
  std::optional<Result<cgroup::Accounting>> acct;
  std::optional<Outcome> outcome;  // by SuperviseJob
};

// The phases, in launch order.

// Fails unless warden holds what a launch needs (caps/privileges.h).
Status CheckPrivileges(JobRun& run);
// argv, environment, cwd, hostname, the job's ids (leasing a uid where the
// policy keeps the default), the namespace and parent-death choices.
Status PlanProcess(JobRun& run);
// The mount plan of the job's root (mnt/mount_plan.h).
Status PlanRootFilesystem(JobRun& run);
// The policy's filter, compiled or from the cache.
Status CompileSeccomp(JobRun& run);
// The policy's rlimits; a hard limit above warden's own is capped there
// with a warning unless warden has CAP_SYS_RESOURCE.
Status PlanRlimits(JobRun& run);
// A veth lease and addresses for network.mode = "veth"; the job's
// /etc/resolv.conf and /etc/hosts. Logs the warnings so far.
Status PrepareNetwork(JobRun& run);
// The job's cgroup with the policy's limits (fail closed), the plan of the
// job's view of it, and on v1 the child's own join.
Status CreateCgroup(JobRun& run);
// The job's stdin, stdout and stderr (launch/job_stdio.h); the supervisor's
// output limits and wall time.
Status OpenStdio(JobRun& run);
// clone3 into the namespaces (and the cgroup on v2); the child waits for
// its release. Closes warden's copies of the child's ends.
Status CloneSandbox(JobRun& run);
// From outside: uid/gid maps, first release, collection of dead wardens'
// cgroups, the cgroup, the veth peer, second release. On failure the child
// is killed and its own report, when it has one, is the error.
Status PlaceChild(JobRun& run);
// Waits for the job to end (launch::Supervise); releases the uid lease and
// reads the cgroup figures as soon as init reports.
Status SuperviseJob(JobRun& run);
// Removes the cgroup and releases the network, failures only logged.
void Teardown(JobRun& run);
// The result from the outcome and the cgroup figures. Fails with the
// sandbox's own report when its setup failed.
Status CollectResult(JobRun& run);

// The result of a launch that failed at `st`: status setup-error, exit 125.
Result<JobResult> SetupError(JobRun& run, const Status& st);

// A random job id (12 hex digits).
std::string NewJobId();

// The phases above in sequence, with the host's directories, pools and
// permissions from `config` (which must outlive the call): what RunJob
// (warden/job.h) does with DefaultHostConfig().
Result<JobResult> RunJobWith(const JobRequest& request, const base::HostConfig& config);

// A child fault spec (base/fault.h), "<step>[:<errno>]", checked:
// kInvalidArgument names an unknown step or a bad errno.
struct ChildFault {
  Step step = Step::kNone;
  int err = 0;
};
Result<ChildFault> ParseChildFaultSpec(const std::string& spec);

// The HostConfig of the process-wide entry points that take none (RunJob,
// Doctor, Gc, ResolvePolicy, PolicyForProgram, PolicyDirectory): a default
// HostConfig until SetDefaultHostConfig. `warden` sets it once from its
// environment before any command runs; a Launcher passes its own instead.
// SetDefaultHostConfig is not thread-safe against those calls.
const base::HostConfig& DefaultHostConfig();
void SetDefaultHostConfig(base::HostConfig config);

}  // namespace warden::launch

#endif  // WARDEN_LAUNCH_JOB_RUN_H_
