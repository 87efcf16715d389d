// The agent's state directory (docs/agent.md):
//
//   STATE/lock             flock'ed by the running agent; holds its pid
//   STATE/wal/             the WAL and its checkpoints (wal/wal.h)
//   STATE/jobs/ID/         one directory per job, made when it starts:
//     spec                 MonitorInput (api.proto), written before the spawn
//     lock                 flock'ed by the job's monitor for all its life
//     monitor              "PID START_TICKS BOOT_ID JOB_ID\n", by the monitor
//     began                made durable by the monitor before the launch
//     heartbeat            CLOCK_BOOTTIME ns of the monitor's last beat, 20
//                          digits and a newline, rewritten in place
//     stdout, stderr       the job's output as it is written
//     result               the --result JSON, committed atomically at the end
//     result.tmp.*         a result being committed
#ifndef WARDEN_AGENT_JOB_DIR_H_
#define WARDEN_AGENT_JOB_DIR_H_

#include <string>

namespace warden::agent {

inline constexpr char kAgentLockFile[] = "lock";
inline constexpr char kWalDir[] = "wal";
inline constexpr char kJobsDir[] = "jobs";

inline constexpr char kSpecFile[] = "spec";
inline constexpr char kMonitorLockFile[] = "lock";
inline constexpr char kMonitorFile[] = "monitor";
inline constexpr char kBeganFile[] = "began";
inline constexpr char kHeartbeatFile[] = "heartbeat";
inline constexpr char kStdoutFile[] = "stdout";
inline constexpr char kStderrFile[] = "stderr";
inline constexpr char kResultFile[] = "result";

// A job id: "j" and 12 lower-case hex digits of the agent's job counter.
// ValidJobId accepts nothing else, so an id from a client can name no path
// but its own directory.
bool ValidJobId(const std::string& id);
std::string MakeJobId(uint64_t number);

inline std::string JobDir(const std::string& state_dir, const std::string& id) {
  return state_dir + "/" + kJobsDir + "/" + id;
}

}  // namespace warden::agent

#endif  // WARDEN_AGENT_JOB_DIR_H_
