// A job's result (JobResult, JobStatus, the --result JSON) and RunJob, the
// one-call blocking form of a launch. Programs that embed warden use
// Launcher and Job (warden/launcher.h), which `warden run` uses too: explicit
// options, no blocking, any thread.
//
// RunJob blocks until the job has ended and every resource made for it
// (mounts, cgroups, network) is gone. It runs the launch on the calling
// thread, which the sandbox's parent-death signal follows; while it runs it
// blocks SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 in that
// thread and forwards them to the job. It needs root, or CAP_SYS_ADMIN,
// CAP_SETUID, CAP_SETGID, CAP_SETPCAP, CAP_SYS_CHROOT, CAP_KILL,
// CAP_NET_ADMIN and CAP_SYS_PTRACE.
#ifndef WARDEN_JOB_H_
#define WARDEN_JOB_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "warden/export.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden {

struct JobRequest {
  Policy policy;
  std::vector<std::string> argv;         // the program and its arguments
  std::vector<MountSpec> extra_mounts;   // --bind / --ro-bind
  std::map<std::string, std::string> env;  // --env, on top of the policy's
  std::vector<std::string> env_pass;     // --env-pass
  std::optional<uint64_t> wall_time_ms;  // --timeout (overrides the policy)
  std::string output_dir;                // --output-dir: stdout, stderr files
  // --pty: the job gets a new pseudo-terminal as stdin, stdout, stderr and
  // controlling terminal, relayed to warden's own stdin and stdout.
  bool pty = false;
  std::string job_id;                    // names of resources; generated if empty
  std::string cgroup_parent;             // --cgroup-parent
  bool die_with_parent = true;
};

// How a job ended. Exactly one status describes each JobResult. Where more
// than one could apply, the first of these wins: kSetupError, kCancelled,
// kTimeout, kOom,
// then how the job's process ended (kSeccompViolation, kSignaled, kNonzero,
// kOk). exit_code follows the exit contract whichever status wins.
enum class JobStatus {
  kOk,                // the job exited with code 0
  kNonzero,           // the job exited with another code, in job_exit; this
                      // includes 126 and 127, when the program could not be
                      // executed or found (error says which)
  kSignaled,          // a signal killed the job, in signal
  kTimeout,           // warden killed the job at its wall time limit
  kOom,               // the job's cgroup hit its memory limit and the kernel
                      // killed a process of the job
  kSeccompViolation,  // the seccomp policy killed the job with SIGSYS;
                      // seccomp_syscall names the call when it is known
  kSetupError,        // the job never ran: warden could not build its
                      // sandbox; error says why and what to do
  kCancelled,         // Job::Cancel stopped the job (exit code 143, as a
                      // SIGTERM would give)
};

// The status's name as the --result JSON writes it: "ok", "nonzero",
// "signaled", "timeout", "oom", "seccomp-violation", "setup-error" or
// "cancelled". These
// names are part of the JSON format and never change. The returned string is
// static; the caller must not free it. A value that is none of the
// enumerators (a cast from a bad integer) is named "unknown", which
// ParseJobStatus refuses. Safe to call from any thread.
WARDEN_EXPORT const char* JobStatusName(JobStatus status);

// The reverse of JobStatusName, for programs that read a --result document:
// the exact name (case-sensitive, no surrounding spaces) gives its status;
// anything else is an error with Code::kInvalidArgument that lists the
// names. Safe to call from any thread.
WARDEN_EXPORT Result<JobStatus> ParseJobStatus(std::string_view name);

struct JobResult {
  // A result that no launch has filled in does not claim success: it says
  // setup-error and 125 until RunJob sets what happened.
  JobStatus status = JobStatus::kSetupError;
  int exit_code = 125;          // warden's exit code by the exit contract
  std::optional<int> job_exit;  // the job's own exit code, when it exited
  std::optional<int> signal;    // the signal that killed the job
  std::string error;            // setup-error/exec failure: what to do
  std::string seccomp_syscall;  // name of the denied syscall, if known
  int64_t wall_ms = 0;
  int64_t cpu_user_ms = 0;
  int64_t cpu_sys_ms = 0;
  int64_t max_rss_kib = 0;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  // StdioSpec::kCapture only: what the job wrote, up to its limit.
  std::string stdout_data;
  std::string stderr_data;
  std::vector<std::string> warnings;  // optional limits not applied, etc.
  std::string job_id;
  std::string policy_name;
  std::string policy_hash;
  // Cgroup accounting (absent values are unknown on this host).
  std::map<std::string, uint64_t> cgroup;
};

// Runs the job. A setup failure is not an error here: it is a JobResult
// with status JobStatus::kSetupError and exit_code 125. An error Status means warden
// could not even try (bad request). Reads no environment variable: the
// directories, pools and permissions it uses are the process's default host
// settings (`warden` fills them from its WARDEN_* variables), and env.pass
// and JobRequest::env_pass copy from the environment recorded there.
WARDEN_EXPORT Result<JobResult> RunJob(const JobRequest& request);

// The --result JSON document. Its "status" member is JobStatusName(status).
WARDEN_EXPORT std::string JobResultToJson(const JobResult& result);

WARDEN_EXPORT const char* Version();

}  // namespace warden

#endif  // WARDEN_JOB_H_
