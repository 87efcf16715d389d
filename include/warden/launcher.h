// Launcher and Job: running sandboxed jobs from a program, without blocking
// and from any thread.
//
// A program creates one Launcher with explicit options (where warden keeps
// its state and caches, where jobs' cgroups go, what warden may change on
// the host) and starts jobs through it:
//
//   warden::LauncherOptions options;
//   options.cgroup_parent = "ci-runner";
//   auto launcher = warden::Launcher::Create(options);   // Result<...>
//   if (!launcher.ok()) { ... launcher.status().ToString() ... }
//   warden::JobSpec spec;
//   spec.policy = (*launcher)->LoadPolicy("default").value();
//   spec.argv = {"/bin/echo", "hello"};
//   spec.out = warden::StdioSpec::Capture(1 << 20);
//   auto job = (*launcher)->Start(std::move(spec));       // returns at once
//   const warden::JobResult& r = (*job)->Wait();
//   // r.status, r.exit_code, r.stdout_data ...
//
// The library reads no environment variable and installs no signal
// handler. It changes nothing of the calling process's unless the options
// allow it: its cgroup (may_move_self), its signal mask (forward_signals)
// and host sysctls (may_change_sysctls) stay as they are.
//
// Threads. A Launcher and its Jobs may be used from any thread, and from
// several at once. Each running job has one thread of the library's (its
// supervisor: 256 KiB of stack, every signal blocked, created by Start,
// gone once the job has ended and its resources are released; the Job's
// destructor joins it). The sandbox is cloned by that thread, so the
// kernel's parent-death signal, which follows the thread that cloned (not
// the process), fires only when the job's supervision ends or the whole
// process dies; a calling thread may exit while its jobs run. Start blocks
// while the sandbox is set up (privileges, mount plan, seccomp filter,
// cgroup, clone and placement: milliseconds, more on a cold cache) and
// returns once the sandbox runs. The cost is one thread creation per job
// (tens of microseconds) and one thread per running job. The launch's
// events are logged on the supervisor thread, to the launcher's sink.
//
// File descriptors. The sandbox's first process is cloned with every fd of
// the process (as fork would) and closes all but the job's stdio once it is
// placed; until then it holds the caller's fds too. Keep fds O_CLOEXEC as
// ever: the job itself gets only its stdio.
//
// Privileges: root, or CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, CAP_SETPCAP,
// CAP_SYS_CHROOT, CAP_KILL, CAP_NET_ADMIN and CAP_SYS_PTRACE. Without them
// Start returns a job that ended with status setup-error saying what is
// missing.
#ifndef WARDEN_LAUNCHER_H_
#define WARDEN_LAUNCHER_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warden/doctor.h"
#include "warden/export.h"
#include "warden/gc.h"
#include "warden/job.h"
#include "warden/log.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden {

// Everything a Launcher may use or change on the host, fixed at Create.
// The defaults are those of `warden run` run by root with no WARDEN_*
// variable set, except the three permissions at the end, which default to
// "no": an embedding program opts in to each.
struct LauncherOptions {
  // Leases of job uids (state_dir/uid) and network addresses
  // (state_dir/net). Every warden on a host must use the same directory,
  // or their jobs may get the same uid or address.
  std::string state_dir = "/run/warden";
  // Either lease directory elsewhere (absolute); empty: under state_dir.
  std::string net_state_dir;
  std::string uid_state_dir;
  // Compiled seccomp filters and mount templates, per policy hash.
  std::string cache_dir = "/var/cache/warden";
  // Where LoadPolicy looks up policy names; empty: the installed
  // share/warden/policies, else the built-in policies.
  std::string policy_dir;
  // Where jobs' cgroups are created, in each hierarchy ("" : under this
  // process's own cgroup). A JobSpec may name another.
  std::string cgroup_parent;
  // The pool of addresses for network mode "veth" (CIDR, /12 to /28);
  // empty: 10.213.0.0/16.
  std::string net_pool;
  // The uids and gids leased one per concurrent job ("LO-HI"); empty: the
  // default range; "none": every job runs as the policy's uid.
  std::string uid_range;
  // Cgroup controllers not to use even where the host has them
  // ("blkio,cpu"); a limit that needs one then fails the job (fail closed).
  std::string cgroup_disable;
  // The environment that the policy's env.pass and JobSpec::env_pass copy
  // variables from. The library never reads its own process's environment;
  // `warden run` passes its own here.
  std::map<std::string, std::string> environment;
  // Events of the launcher and its jobs go to this sink (at or above
  // min_log_level), called from the job's supervisor thread; empty: the
  // process-wide sink (warden/log.h). Must be thread-safe.
  LogSink log_sink;
  LogLevel min_log_level = LogLevel::kWarn;

  // cgroup v2 forbids processes in a cgroup whose children have
  // controllers. When the jobs' parent is this process's own cgroup, it
  // must move into a leaf child (warden-self-<pid>) first. false: such a
  // launch fails, saying to set cgroup_parent to a cgroup without
  // processes.
  bool may_move_self = false;
  // true: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to this
  // process are forwarded to the running job, and SIGWINCH resizes a --pty
  // job's terminal. Create blocks these signals in the calling thread, and
  // threads created after it inherit the block; every thread must keep
  // them blocked. Meant for a program that runs one job at a time in the
  // foreground, as `warden run` does: with several, each signal goes to one
  // of them. false: the process's signals are its own; use Job::Kill.
  bool forward_signals = false;
  // true: warden may turn on net.ipv4.ip_forward, which network mode
  // "veth" needs. false: such a job fails while forwarding is off, saying
  // to turn it on.
  bool may_change_sysctls = false;
};

// Where one of a job's standard streams comes from or goes to.
struct StdioSpec {
  enum class Kind {
    kNull,     // /dev/null
    kFd,       // the caller's fd, handed to the job as it is (Start dups
               // it: the caller may close its own at once). A directory,
               // an O_PATH fd or a block device is refused: through it the
               // job could reach files outside its sandbox
    kRelay,    // output only: the job writes to a pipe that the
               // supervisor copies into the caller's fd, so the job never
               // holds that fd (a terminal: `warden run` uses this for a
               // terminal, whose settings the job must not reach)
    kFile,     // a file by path. stdin: opened for reading as the calling
               // user may (a regular file with one link, a FIFO or
               // /dev/null, zero, random, urandom; never a symlink or
               // another device). stdout, stderr: always a new file, mode
               // 0600, renamed over the name (what was there is never
               // written), in a directory that must exist, never through
               // a symlink.
               // Output is cut at max_bytes (the policy's output limit
               // when 0) and the result says so.
    kCapture,  // output only: kept in memory, up to max_bytes (the
               // policy's output limit when 0), in JobResult::stdout_data
               // or stderr_data.
  };
  Kind kind = Kind::kNull;
  int fd = -1;
  std::string path;
  uint64_t max_bytes = 0;

  static StdioSpec Null() { return {}; }
  static StdioSpec Fd(int fd) { return {Kind::kFd, fd, "", 0}; }
  static StdioSpec Relay(int fd) { return {Kind::kRelay, fd, "", 0}; }
  static StdioSpec File(std::string path, uint64_t max_bytes = 0) {
    return {Kind::kFile, -1, std::move(path), max_bytes};
  }
  static StdioSpec Capture(uint64_t max_bytes = 0) { return {Kind::kCapture, -1, "", max_bytes}; }
};

// One job: the policy it runs under and what `warden run`'s options say.
// The per-job options (cwd to seccomp_profile) are checked against the
// policy as `warden run` checks its flags, and folded into it at Start; the
// result's policy_hash is that of the policy that ran.
struct JobSpec {
  Policy policy;                           // Launcher::LoadPolicy, or built
  std::vector<std::string> argv;           // the program and its arguments
  std::vector<MountSpec> extra_mounts;     // --bind, --ro-bind, --bind-owned
  std::map<std::string, std::string> env;  // --env, on top of the policy's
  std::vector<std::string> env_pass;       // --env-pass: from LauncherOptions::environment
  std::optional<uint64_t> wall_time_ms;    // --timeout; 0: none
  StdioSpec in, out, err;                  // default: /dev/null each
  // --output-dir: stdout and stderr go to DIR/stdout and DIR/stderr (DIR
  // made when missing, never through a symlink), each cut at the policy's
  // output limit; replaces `out` and `err`.
  std::string output_dir;
  // --pty: the job gets a new pseudo-terminal as stdin, stdout, stderr and
  // controlling terminal, relayed to in.fd and out.fd (both kind kFd).
  bool pty = false;
  std::string job_id;         // names its resources; generated when empty
  std::string cgroup_parent;  // empty: the launcher's
  bool die_with_parent = true;

  // Per-job options, each as `warden run`'s flag of the same name.
  std::optional<std::string> cwd;               // --chdir
  std::optional<uint32_t> uid, gid;             // --uid, --gid: only ids the
                                                // policy's identity rules allow
  std::optional<std::string> hostname;          // --hostname
  std::optional<CgroupLimit<uint64_t>> memory;  // --memory; .value empty: none
  std::optional<CgroupLimit<uint64_t>> pids;    // --pids
  std::optional<CgroupLimit<double>> cpus;      // --cpus
  std::optional<uint64_t> tmp_size_bytes;       // --tmp-size
  std::optional<NetworkSpec::Mode> net;         // --net
  std::vector<std::string> allow;               // --allow entries
  std::optional<SeccompSpec> seccomp;           // --seccomp-profile, imported
};

class Launcher;

// A started job. Every method is thread-safe. Destroying a Job whose job
// still runs kills the job (SIGKILL to every process of it) and waits
// until its resources are released: a sandbox never outlives its handle.
class WARDEN_EXPORT Job {
 public:
  ~Job();
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  const std::string& id() const;
  // The pidfd of the sandbox's init (pid 1 of the job's pid namespace),
  // owned by the Job; -1 when the job never started (setup-error). It
  // becomes readable when init exits, slightly before the result is ready.
  int pidfd() const;
  // A file descriptor that becomes readable (POLLIN) once the result is
  // ready and stays so; for the caller's own event loop. Owned by the Job;
  // never read or write it.
  int end_fd() const;

  // Blocks until the job has ended and its resources are released; returns
  // its result. May be called again, from any thread: the same result.
  const JobResult& Wait();
  // As Wait, for at most `timeout`: an error with Code::kUnavailable when
  // the job is still running then.
  warden::Result<JobResult> WaitFor(std::chrono::milliseconds timeout);
  // The result, once the job has ended; nullopt before. Never blocks.
  std::optional<JobResult> Result() const;

  // Sends `sig` to the job: the forwarded signals (SIGTERM, SIGINT, SIGHUP,
  // SIGQUIT, SIGUSR1, SIGUSR2) go to the sandbox's init, which passes them
  // to the job's process; SIGKILL ends init and with it every process of
  // the job. Other signals are refused (kInvalidArgument). A job that has
  // ended: kFailedPrecondition.
  Status Kill(int sig);
  // Stops the job as its wall-time limit would (SIGTERM to every process,
  // the policy's grace, then SIGKILL); its status becomes kCancelled. A job
  // that has ended: kFailedPrecondition. Cancelling twice is not an error.
  Status Cancel();

  // The library's own; opaque to callers.
  struct State;

 private:
  friend class Launcher;
  explicit Job(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

class WARDEN_EXPORT Launcher {
 public:
  // Checks the options (absolute directories, pool and range syntax,
  // controller names); fails with kInvalidArgument naming the one at fault.
  // Creates nothing on the host until a job starts.
  static warden::Result<std::unique_ptr<Launcher>> Create(LauncherOptions options);
  // Waits for every job started through it that still runs (their handles
  // stay valid).
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  const LauncherOptions& options() const;

  // A policy by name (in options().policy_dir, else built in) or by file
  // path (one with a '/' or ending .toml), as `warden run --policy` takes.
  warden::Result<Policy> LoadPolicy(const std::string& name_or_file) const;
  // The policy that `warden run PROGRAM` picks without --policy, among
  // those of options().policy_dir (else the built-in ones): by the
  // program's suffix (.py), then its "#!" interpreter, then its own name
  // (`-- python3 app.py`); "default" when nothing matches. Reads the
  // program's first bytes when it is a file.
  warden::Result<Policy> PolicyForProgram(const std::string& program_path) const;

  // Starts the job and returns once its sandbox runs, or its setup failed:
  // it does not wait for the job's end. A request that cannot be run at all
  // (no argv, an option the policy forbids, a bad stdio spec) is an error
  // here, kInvalidArgument, and nothing was started. A setup that fails on
  // the host (a cgroup, a mount, a missing privilege) is a Job whose result
  // is already there: status kSetupError, exit code 125.
  warden::Result<std::unique_ptr<Job>> Start(JobSpec spec);

  // The same host probes as `warden doctor`, and the same collection as
  // `warden gc`, for this launcher's directories and options.
  DoctorReport Doctor() const;
  GcReport Gc() const;

 private:
  struct Impl;
  explicit Launcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden

#endif  // WARDEN_LAUNCHER_H_
