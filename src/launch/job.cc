// RunJob: the launch's phases (launch/job_run.h) in DESIGN.md's order.
#include <unistd.h>

#include <string>
#include <sys/random.h>

#include "base/clock.h"
#include "base/trace.h"
#include "launch/job_run.h"
#include "warden/job.h"

namespace warden {
namespace launch {

std::string NewJobId() {
  unsigned char b[6];
  if (::getrandom(b, sizeof b, 0) != sizeof b) {
    // Never fails for 6 bytes after boot; fall back to pid and time.
    return std::to_string(::getpid()) + "-" + std::to_string(base::MonotonicNs() % 1000000);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char c : b) {
    id += kHex[c >> 4];
    id += kHex[c & 15];
  }
  return id;
}

Result<JobResult> RunJobWith(const JobRequest& req, const base::HostConfig& config) {
  if (req.argv.empty()) {
    return Status::Error(Code::kInvalidArgument,
                         "no command given: use warden run [options] -- CMD [ARGS...]");
  }
  // The policy is loaded (and checked) by the caller. Whatever a phase made
  // is undone by `run`'s destructor on every return.
  launch::JobRun run(req, req.job_id.empty() ? NewJobId() : req.job_id, config);
  base::TracePhase("job requested");
  Status st = launch::CheckPrivileges(run);
  if (st.ok()) st = launch::PlanProcess(run);        // argv, env, ids (uid lease)
  if (st.ok()) st = launch::PlanRootFilesystem(run);  // the child's mount steps
  if (st.ok()) st = launch::CompileSeccomp(run);      // or from the cache
  if (st.ok()) st = launch::PlanRlimits(run);
  if (st.ok()) st = launch::PrepareNetwork(run);      // veth lease, resolv.conf, hosts
  if (st.ok()) st = launch::CreateCgroup(run);        // with its limits, before clone
  if (st.ok()) st = launch::OpenStdio(run);           // everything else the child needs
  if (st.ok()) st = launch::CloneSandbox(run);        // clone3; the child waits
  if (st.ok()) st = launch::PlaceChild(run);          // id maps, cgroup, veth; release
  if (st.ok()) st = launch::SuperviseJob(run);        // until init reports and exits
  if (!st.ok()) return launch::SetupError(run, st);
  launch::Teardown(run);                              // cgroup removed, network released
  if (st = launch::CollectResult(run); !st.ok()) return launch::SetupError(run, st);
  return std::move(run.res);
}

}  // namespace launch

const char* Version() { return WARDEN_VERSION; }

// The host settings are the defaults until `warden run` passes its own
// (base/host_config.h); the phases still read the environment themselves.
Result<JobResult> RunJob(const JobRequest& req) { return launch::RunJobWith(req, base::HostConfig{}); }

}  // namespace warden
