// A job's monitor: the small process that runs one job for the agent and
// outlives it (docs/agent.md, "Monitors").
//
// The agent side: SpawnMonitor starts one, ProbeMonitor tells a restarted
// agent what became of one, SignalJob asks one to signal its job.
// The monitor side: RunMonitor, the body of `warden monitor`, in the static
// build/warden (no isa-l, no shared library: a running monitor must stay
// well under 512 KiB of private memory).
//
// The start protocol, which makes "never began" provable after any crash:
//   1. the agent's STARTING record is durable;
//   2. the agent makes jobs/ID/, writes jobs/ID/spec (atomically), opens
//      jobs/ID/lock and flocks it, and spawns the monitor, which inherits
//      that open file (and so the lock); the agent then closes its copy;
//   3. the monitor writes jobs/ID/monitor, then creates jobs/ID/began and
//      makes it durable (file and directory fsync'ed), and only then calls
//      Launcher::Start;
//   4. at the end the monitor commits jobs/ID/result atomically and exits.
// The lock is held exactly while a monitor of the job lives (the kernel
// drops it when the last holder dies). So, with the lock free: a result
// means the job ended; no `began` means the job never ran (it may be
// started again); `began` and no result means it ran and its monitor died:
// `lost`.
#ifndef WARDEN_AGENT_MONITOR_H_
#define WARDEN_AGENT_MONITOR_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "agent/api.pb.h"
#include "base/fd.h"
#include "warden/status.h"

namespace warden::agent {

struct MonitorIdentity {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // field 22 of /proc/PID/stat
  std::string boot_id;
  std::string job_id;
};

struct SpawnedMonitor {
  MonitorIdentity identity;
  base::UniqueFd pidfd;  // readable when the monitor exits
};

struct SpawnRequest {
  std::string state_dir;      // the agent's; the job dir is state_dir/jobs/ID
  api::MonitorInput input;    // written to jobs/ID/spec
  int warden_binary_fd = -1;  // build/warden, executed with execveat
  // Fds the monitor takes over (a non-root client's bind sources and stdin,
  // indexed as the spec's fd_index fields). The agent's own fds (socket,
  // WAL, listening socket) are never inherited: everything of the agent's
  // is close-on-exec, and the spawn closes every other fd.
  std::vector<int> job_fds;
};

// Steps 2 of the start protocol. The monitor is not the agent's child (it
// is reparented to init or the nearest subreaper), so the agent never
// reaps it: it watches the pidfd. Errors leave no monitor running.
Result<SpawnedMonitor> SpawnMonitor(const SpawnRequest& request);

enum class MonitorFate {
  kAlive,       // lock held: identity and pidfd set
  kEnded,       // lock free, result present: result_json, exit_code, state
  kNeverBegan,  // lock free, no `began`: safe to start again
  kLost,        // lock free, `began`, no result: reason says so
  kHung,        // lock held but the heartbeat is older than hung_after_ms
  kNoDir,       // no job directory: the start never got to step 2
};

struct Probe {
  MonitorFate fate = MonitorFate::kNoDir;
  MonitorIdentity identity;   // kAlive, kHung
  base::UniqueFd pidfd;       // kAlive, kHung
  api::State state = api::STATE_UNSPECIFIED;  // kEnded: from the result
  std::string result_json;    // kEnded
  int exit_code = 0;          // kEnded
  std::string reason;         // kLost, kHung
};

// What became of job `job_id`'s monitor (see the start protocol). Checks
// the identity of a live one (pid from jobs/ID/monitor, its start time and
// the boot id, the job id in its command line) after pidfd_open, so a
// reused pid is never adopted.
Result<Probe> ProbeMonitor(const std::string& state_dir, const std::string& job_id,
                           uint64_t hung_after_ms);

// Reads jobs/ID/result: the JSON, the state it names and the exit code.
Result<Probe> ReadResult(const std::string& state_dir, const std::string& job_id);

// Asks the monitor behind `pidfd` to send `sig` to its whole job (a queued
// real-time signal carrying sig; the monitor translates it).
Status SignalJob(int pidfd, int sig);

// `warden monitor STATE_DIR JOB_ID LOCK_FD`: the monitor's body. Returns its
// exit status (0 when the result was committed).
int RunMonitor(const std::vector<std::string>& args);

}  // namespace warden::agent

#endif  // WARDEN_AGENT_MONITOR_H_
