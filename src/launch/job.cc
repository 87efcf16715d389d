// RunJob: the launch's phases (launch/job_run.h) in DESIGN.md's order.
#include <unistd.h>

#include <string>
#include <utility>
#include <sys/random.h>

#include "base/clock.h"
#include "base/trace.h"
#include "launch/job_run.h"
#include "warden/job.h"

namespace warden {
namespace launch {
namespace {

base::HostConfig& DefaultSlot() {
  static base::HostConfig config;
  return config;
}

}  // namespace

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

const base::HostConfig& DefaultHostConfig() { return DefaultSlot(); }

void SetDefaultHostConfig(base::HostConfig config) { DefaultSlot() = std::move(config); }

Result<JobResult> RunJobWith(const JobRequest& req, const base::HostConfig& config) {
  if (req.argv.empty()) {
    return Status::Error(Code::kInvalidArgument,
                         "no command given: use warden run [options] -- CMD [ARGS...]");
  }
  // The policy is loaded (and checked) by the caller. Whatever a phase made
  // is undone by `run`'s destructor on every return.
  JobRun run(req, req.job_id.empty() ? NewJobId() : req.job_id, config);
  base::TracePhase("job requested");
  Status st = CheckPrivileges(run);
  if (st.ok()) st = PlanProcess(run);        // argv, env, ids (uid lease)
  if (st.ok()) st = PlanRootFilesystem(run);  // the child's mount steps
  if (st.ok()) st = CompileSeccomp(run);      // or from the cache
  if (st.ok()) st = PlanRlimits(run);
  if (st.ok()) st = PrepareNetwork(run);      // veth lease, resolv.conf, hosts
  if (st.ok()) st = CreateCgroup(run);        // with its limits, before clone
  if (st.ok()) st = OpenStdio(run);           // everything else the child needs
  if (st.ok()) st = CloneSandbox(run);        // clone3; the child waits
  if (st.ok()) st = PlaceChild(run);          // id maps, cgroup, veth; release
  if (st.ok()) st = SuperviseJob(run);        // until init reports and exits
  if (!st.ok()) return SetupError(run, st);
  Teardown(run);                              // cgroup removed, network released
  if (st = CollectResult(run); !st.ok()) return SetupError(run, st);
  return std::move(run.res);
}

}  // namespace launch

const char* Version() { return WARDEN_VERSION; }

Result<JobResult> RunJob(const JobRequest& req) {
  return launch::RunJobWith(req, launch::DefaultHostConfig());
}

}  // namespace warden
