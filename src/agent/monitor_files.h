// Files and processes of a job's monitor, shared by the agent's side
// (agent/monitor.cc) and the monitor's own (agent/monitor_run.cc): the
// job directory opened without following symlinks, its lock, bounded reads
// of what it holds, and the /proc facts that identify a monitor.
// Internal to the agent's monitors.
#ifndef WARDEN_AGENT_MONITOR_FILES_H_
#define WARDEN_AGENT_MONITOR_FILES_H_

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/monitor.h"
#include "base/fd.h"
#include "warden/job.h"
#include "warden/launcher.h"
#include "warden/status.h"

namespace warden::agent {

// The launcher's host settings that the agent hands its monitors (the
// [launcher] section of its configuration, carried in MonitorInput), as
// warden::LauncherOptions. The agent's own Launcher (gc, policies) is made
// from the same, so that it sees what its monitors see.
LauncherOptions LauncherOptionsOf(const api::MonitorInput& in);

// jobs/ID/spec (a serialized MonitorInput) is at most this big.
inline constexpr size_t kMaxSpecBytes = 1 << 20;
// The most fds a monitor takes over (SpawnRequest::job_fds).
inline constexpr size_t kMaxJobFds = 64;
// The monitor's fds: 0 the start gate (agent/monitor.cc), 1 and 2
// /dev/null, 3 the job's lock, 4.. the job fds.
inline constexpr int kLockFd = 3;
inline constexpr int kFirstJobFd = 4;
// The heartbeat file: CLOCK_BOOTTIME ns in 20 digits and a newline,
// rewritten in place with pwrite.
inline constexpr size_t kHeartbeatBytes = 21;

// The real-time signal that carries an agent's request to signal the job
// (SignalJob); its value is the signal to send.
int ControlSignal();
// The signals the monitor reads from its signalfd: the control signal and
// those a job is forwarded. Blocked in the monitor from its exec on.
sigset_t MonitorSignals();

std::string Quoted(const std::string& s);
bool IsNoEntry(const Status& st);

// Opens `name` in `dir_fd` for reading: a regular file, never through a
// symlink, never blocking on a FIFO planted there.
Result<base::UniqueFd> OpenRegularAt(int dir_fd, const char* name, const std::string& shown);
// The same, read to its end; more than max_bytes is kCorruption.
Result<std::string> ReadRegularAt(int dir_fd, const char* name, size_t max_bytes,
                                  const std::string& shown);
// Whether `name` exists in `dir_fd` (as anything: a symlink counts).
Result<bool> ExistsAt(int dir_fd, const char* name, const std::string& shown);

// Strict decimal: digits only, no sign or space, no overflow.
std::optional<uint64_t> ParseDecimal(std::string_view s);
// Field 22 of /proc/PID/stat: the start time in clock ticks since boot.
Result<uint64_t> ReadStartTicks(pid_t pid);
bool ValidBootId(std::string_view s);
// /proc/sys/kernel/random/boot_id, without its newline.
Result<std::string> ReadBootId();

// The parsers of what a job directory and /proc hold, each strict and
// bounded by its input (tests/fuzz/monitor_files_fuzz.cc). `shown` names
// the file in errors, which are kCorruption.
//
// /proc/PID/stat's field 22, counted from the last ')' (the command name
// in field 2 may hold spaces and parentheses).
Result<uint64_t> ParseStartTicks(std::string_view stat, const std::string& shown);
// jobs/ID/result (the --result JSON): kEnded with the state its "status"
// names ("ok" and "nonzero" are EXITED), its "exit_code" (0-255) and the
// text itself.
Result<Probe> ParseResult(std::string text, const std::string& shown);
api::State StateOfStatus(JobStatus status);
// jobs/ID/monitor: "PID START_TICKS BOOT_ID JOB_ID\n", nothing else.
Result<MonitorIdentity> ParseIdentity(const std::string& text, const std::string& shown);
std::string FormatIdentity(const MonitorIdentity& id);
// jobs/ID/heartbeat: kHeartbeatBytes, CLOCK_BOOTTIME ns in 20 digits and a
// newline.
std::optional<uint64_t> ParseHeartbeat(std::string_view text);
std::string FormatHeartbeat(uint64_t boottime_ns);

// Opens STATE/jobs/ID without following a symlink anywhere; with `create`,
// makes jobs/ and ID/ (0700) when missing. Both must be the caller's and
// writable by no one else. A missing one is an error with errno ENOENT
// (IsNoEntry).
Result<base::UniqueFd> OpenJobDir(const std::string& state_dir, const std::string& id,
                                  bool create);
// jobs/ID/lock: a regular file, never reached through a symlink.
Result<base::UniqueFd> OpenLockAt(int job_dir, bool create, const std::string& shown);
// flock(LOCK_EX|LOCK_NB): true when taken (or already held through this
// open file), false when another open file holds it.
Result<bool> TryLock(int fd, const std::string& shown);

}  // namespace warden::agent

#endif  // WARDEN_AGENT_MONITOR_FILES_H_
